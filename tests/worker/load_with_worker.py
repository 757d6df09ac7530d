"""Play the Functions host to Microsoft's Python worker: load the app, then invoke it.

Run with the Python 3.13 of ``.venv-worker`` (``azure-functions-runtime-v1`` needs 3.13)::

    python load_with_worker.py APP_DIR

The app's settings come from the environment, as the host passes them to the worker. The
driver sends ``worker_init_request``, then a ``function_load_request`` for every folder of
APP_DIR holding a ``function.json`` (its metadata built as the host builds it), and writes one
JSON line: ``{"init": RESULT, "loads": {FUNCTION: RESULT}}``. It then reads invocations, one
JSON line each on stdin: ``{"function": NAME, "input_data": [ParameterBinding, ...]}``, the
bindings in the protobuf JSON form of the host's messages, and answers each with one line:
``{"result": RESULT, "return_value": TypedData, "output_data": [ParameterBinding, ...]}``.
A RESULT is ``{"status": "Success" | "Failure", "exception": MESSAGE}``. It stops at EOF.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from azure_functions_runtime_v1 import (
    handle_event,
    start_threadpool_executor,
    stop_threadpool_executor,
)
from google.protobuf import json_format

# The runtime's wheel ships the host's message modules as a top-level package named `tests`,
# which the app's own `tests` package would shadow: they are loaded under this name instead.
PROTOS_MODULE = "functions_host_protos"
HOST_VERSION = "4.1040.300.0"


@dataclass
class WorkerRequest:
    """What the worker's handlers take: the host's StreamingMessage and the worker's context."""

    name: str
    request: Any
    properties: dict[str, Any] = field(default_factory=dict)


def load_protos() -> ModuleType:
    """Import the host's protobuf messages from the runtime's wheel, under PROTOS_MODULE."""
    wheel = importlib.metadata.distribution("azure-functions-runtime-v1")
    package = Path(str(wheel.locate_file("tests/protos")))
    spec = importlib.util.spec_from_file_location(
        PROTOS_MODULE, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    if spec is None or spec.loader is None:
        raise RuntimeError(f"no protobuf modules in {package}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[PROTOS_MODULE] = module
    spec.loader.exec_module(module)
    return module


def function_metadata(protos: ModuleType, folder: Path) -> Any:
    """The RpcFunctionMetadata the host sends for the function in ``folder``."""
    config = json.loads((folder / "function.json").read_text(encoding="utf-8"))
    bindings = {
        binding["name"]: protos.BindingInfo(
            type=binding["type"],
            direction=protos.BindingInfo.Direction.Value(binding.get("direction", "in").lower()),
            data_type=protos.BindingInfo.DataType.Value(binding.get("dataType", "undefined")),
        )
        for binding in config["bindings"]
    }
    return protos.RpcFunctionMetadata(
        name=folder.name,
        directory=str(folder),
        script_file=str(folder / config.get("scriptFile", "__init__.py")),
        entry_point=config.get("entryPoint", ""),
        bindings=bindings,
        raw_bindings=[json.dumps(binding) for binding in config["bindings"]],
        language="python",
        is_proxy=False,
    )


def status_of(protos: ModuleType, result: Any) -> dict[str, Any]:
    """A StatusResult as JSON: its status name and the exception message, if any."""
    return {
        "status": protos.StatusResult.Status.Name(result.status),
        "exception": result.exception.message or None,
    }


class Host:
    """Sends the worker the messages the Functions host would, and records its answers."""

    def __init__(self, app_dir: Path) -> None:
        """Get ready to run the app in ``app_dir`` (imported with the worker's runtime)."""
        self.app_dir = app_dir
        self.protos = load_protos()
        self.handlers = handle_event
        self.function_ids: dict[str, str] = {}

    def _message(self, **content: Any) -> WorkerRequest:
        message = self.protos.StreamingMessage(request_id=uuid.uuid4().hex, **content)
        name = next(iter(content))
        return WorkerRequest(name, message, {"host": HOST_VERSION, "protos": self.protos})

    async def start(self) -> dict[str, Any]:
        """Initialise the worker, then load every function; return the results."""
        init = await self.handlers.worker_init_request(
            self._message(
                worker_init_request=self.protos.WorkerInitRequest(
                    host_version=HOST_VERSION,
                    function_app_directory=str(self.app_dir),
                    worker_directory=str(Path(self.handlers.__file__).parent),
                )
            )
        )
        loads = {}
        for config in sorted(self.app_dir.glob("*/function.json")):
            folder = config.parent
            function_id = str(uuid.uuid4())
            self.function_ids[folder.name] = function_id
            response = await self.handlers.function_load_request(
                self._message(
                    function_load_request=self.protos.FunctionLoadRequest(
                        function_id=function_id, metadata=function_metadata(self.protos, folder)
                    )
                )
            )
            loads[folder.name] = status_of(self.protos, response.result)
        return {"init": status_of(self.protos, init.result), "loads": loads}

    async def invoke(self, invocation: dict[str, Any]) -> dict[str, Any]:
        """Send one InvocationRequest for ``invocation``; return the worker's answer."""
        request = self.protos.InvocationRequest(
            invocation_id=str(uuid.uuid4()), function_id=self.function_ids[invocation["function"]]
        )
        for binding in invocation["input_data"]:
            json_format.ParseDict(binding, request.input_data.add())
        response = await self.handlers.invocation_request(self._message(invocation_request=request))
        return {
            "result": status_of(self.protos, response.result),
            "return_value": (
                json_format.MessageToDict(response.return_value)
                if response.HasField("return_value")
                else None
            ),
            "output_data": [json_format.MessageToDict(item) for item in response.output_data],
        }


def answer(value: dict[str, Any]) -> None:
    """Write one JSON line to stdout."""
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


async def serve(app_dir: Path) -> None:
    """Load the app, then answer invocations read from stdin until EOF."""
    # The host starts the worker with the app's root importable, as `shared` needs.
    sys.path.insert(0, str(app_dir))
    host = Host(app_dir)
    start_threadpool_executor()
    try:
        answer(await host.start())
        for line in sys.stdin:
            if line.strip():
                answer(await host.invoke(json.loads(line)))
    finally:
        stop_threadpool_executor()


def main() -> None:
    """Entry point: ``load_with_worker.py APP_DIR``."""
    if len(sys.argv) != 2:
        sys.exit("usage: load_with_worker.py APP_DIR")
    asyncio.run(serve(Path(sys.argv[1]).resolve()))


if __name__ == "__main__":
    main()
