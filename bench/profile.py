"""Profile the warm ``/flush`` handler with pyinstrument: ``python -m bench.profile``.

The same set-up as the time-to-``views.open`` benchmark (Azurite, an instant Slack
stand-in, signed requests), then ``--commands`` slash commands handled in-process under the
profiler; the call tree is printed. devhost itself runs functions on a thread pool, which
pyinstrument does not follow: doc/performance.md shows how to sample it with py-spy instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from pyinstrument import Profiler

from bench.appenv import (
    BLOB,
    CONTAINER,
    LOOPBACK,
    allowed_users_csv,
    app_settings,
    new_secrets,
    user_id,
)
from bench.views_open import warm_run
from devhost.azurite import Azurite, upload_allowed_users
from devhost.standins.slack_stub import SlackStub

SAMPLING_SECONDS = 0.0001


def main(argv: Sequence[str] | None = None) -> int:
    """Warm up, profile the commands, print the call tree."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--commands", type=int, default=300, help="commands profiled (%(default)s)")
    parser.add_argument("--all-frames", action="store_true", help="show library frames too")
    args = parser.parse_args(argv)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = LOOPBACK
    run_secrets = new_secrets()
    with Azurite() as azurite, SlackStub(token=run_secrets.bot_token) as slack:
        upload_allowed_users(azurite.connection_string, CONTAINER, BLOB, allowed_users_csv())
        os.environ.update(
            app_settings(
                run_secrets,
                azurite.connection_string,
                slack_api_url=slack.base_url,
                cache_flush_url="http://127.0.0.1:9/cache-flush",
            )
        )
        warm_run(20, run_secrets.signing_secret, slack, user_id(0))
        profiler = Profiler(interval=SAMPLING_SECONDS)
        with profiler:
            warm_run(args.commands, run_secrets.signing_secret, slack, user_id(0))
    print(profiler.output_text(unicode=False, color=False, show_all=args.all_frames))
    return 0


if __name__ == "__main__":
    sys.exit(main())
