"""Tests of the deployment and operations files: pipeline, scripts, template, manifest."""
