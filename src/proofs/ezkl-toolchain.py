"""Verity's bridge to the pinned EZKL toolchain (Python package ezkl==21.0.0).

Driven by src/proofs/toolchain.ts: one JSON request on stdin, one JSON answer on stdout
(the last line). Diagnostics go to stderr. With `--serve` it is instead the native prover's
long-lived worker (src/proofs/native-backend.ts): JSON lines over stdio, one request per line
{"id", "op": "prove"|"verify", ...file paths}, one answer per line {"id", "ok", ...}; it prints
{"type": "ready", "version"} first. Commands:
  {"command": "version"}
  {"command": "build", "model": ..., "sample": ..., "witnessSample": ..., "lookupSafetyMargin": float,
   "out": ..., "srs": PATH|null,
   "visibility": {"input": ..., "output": ..., "params": ...}, "scales": [int], "decompBase": int,
   "decompLegs": int, "maxLogrows": int|null}
  {"command": "evm-verifier", "vk": ..., "settings": ..., "srs": ..., "out": DIR, "reusable": bool}
    -> renders Halo2Verifier.sol (or Halo2VerifierReusable.sol + Halo2VerifyingArtifact.sol) into DIR
  {"command": "evm-calldata", "proof": PATH, "vk": ADDRESS|null} -> {"calldata": "0x..."} (ezkl encode_evm_calldata)
"""
import asyncio
import contextlib
import json
import os
import shutil
import sys


def answer(value):
    sys.stdout.write("\n" + json.dumps(value) + "\n")
    sys.stdout.flush()


def fail(kind, message, details=""):
    answer({"ok": False, "kind": kind, "message": message, "details": details})
    sys.exit(0)


async def settle(value):
    return (await value) if hasattr(value, "__await__") else value


async def build(request):
    import ezkl

    out = request["out"]
    os.makedirs(out, exist_ok=True)
    model = os.path.join(out, "network.onnx")
    if os.path.abspath(request["model"]) != os.path.abspath(model):
        shutil.copyfile(request["model"], model)
    settings = os.path.join(out, "settings.json")
    compiled = os.path.join(out, "model.compiled")
    sample = request["sample"]
    visibility = request["visibility"]

    run_args = ezkl.PyRunArgs()
    run_args.input_visibility = visibility["input"]
    run_args.output_visibility = visibility["output"]
    run_args.param_visibility = visibility["params"]
    run_args.decomp_base = int(request["decompBase"])
    run_args.decomp_legs = int(request["decompLegs"])
    try:
        ezkl.gen_settings(model, settings, py_run_args=run_args)
    except Exception as error:  # noqa: BLE001 - ezkl raises plain exceptions
        fail("unsupported-model", "EZKL cannot read or circuitize this ONNX model", str(error))
    try:
        # stdout of calibration is a human report: keep our stdout for the JSON answer
        with contextlib.redirect_stdout(sys.stderr):
            await settle(
                ezkl.calibrate_settings(
                    sample,
                    model,
                    settings,
                    "resources",
                    lookup_safety_margin=float(request.get("lookupSafetyMargin", 2)),
                    scales=request["scales"],
                    scale_rebase_multiplier=[1],
                    max_logrows=request.get("maxLogrows"),
                )
            )
    except Exception as error:  # noqa: BLE001
        fail("calibration-failed", "EZKL could not calibrate the circuit on the sample", str(error))
    try:
        ezkl.compile_circuit(model, compiled, settings)
    except Exception as error:  # noqa: BLE001
        fail("unsupported-model", "EZKL could not compile the circuit", str(error))
    with open(settings) as handle:
        logrows = json.load(handle)["run_args"]["logrows"]

    srs = os.path.join(out, "kzg.srs")
    if request.get("srs"):
        if os.path.abspath(request["srs"]) != os.path.abspath(srs):
            shutil.copyfile(request["srs"], srs)
    else:
        ezkl.gen_srs(srs, logrows)

    witness = os.path.join(out, ".sample-witness.json")
    vk = os.path.join(out, "vk.key")
    pk = os.path.join(out, "pk.key")
    try:
        await settle(ezkl.gen_witness(request.get("witnessSample", sample), compiled, witness))
        if not ezkl.mock(witness, compiled):
            fail("mock-failed", "The circuit's constraints are not satisfied on the sample")
        ezkl.setup(compiled, vk, pk, srs)
    except SystemExit:
        raise
    except Exception as error:  # noqa: BLE001
        fail("setup-failed", "EZKL could not set up keys for the circuit", str(error))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(witness)
    answer({"ok": True, "logrows": logrows})


async def evm_verifier(request):
    import ezkl

    out = request["out"]
    os.makedirs(out, exist_ok=True)
    reusable = bool(request.get("reusable"))
    targets = [("verifier", "Halo2VerifierReusable.sol" if reusable else "Halo2Verifier.sol")]
    if reusable:
        targets.append(("vka", "Halo2VerifyingArtifact.sol"))
    files = {}
    for kind, name in targets:
        sol = os.path.join(out, name)
        abi = os.path.join(out, name + ".abi.json")
        with contextlib.suppress(FileNotFoundError):
            os.remove(sol)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                if kind == "verifier":
                    await settle(ezkl.create_evm_verifier(request["vk"], request["settings"], sol, abi, request["srs"], reusable))
                else:
                    await settle(ezkl.create_evm_vka(request["vk"], request["settings"], sol, abi, request["srs"]))
        except Exception as error:  # noqa: BLE001
            # ezkl renders the Solidity first, then asks svm for a native solc to write the ABI: offline that
            # second step fails; Verity compiles the rendered source with solc-js instead.
            if not os.path.exists(sol) or os.path.getsize(sol) == 0:
                fail("evm-render-failed", "EZKL could not render the EVM verifier", str(error))
        files[kind] = sol
    answer({"ok": True, "files": files})


def serve():
    """The native prover's worker loop: ezkl is imported once and the process lives for many proofs."""
    import importlib.metadata
    import time

    import ezkl

    out = sys.stdout
    sys.stdout = sys.stderr  # anything ezkl prints must not corrupt the protocol

    def reply(value):
        out.write(json.dumps(value) + "\n")
        out.flush()

    reply({"type": "ready", "version": importlib.metadata.version("ezkl")})
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        job = request.get("id")
        try:
            if request["op"] == "prove":
                started = time.perf_counter()
                result = ezkl.prove(request["witness"], request["compiled"], request["pk"], request["proof"], "single", request["srs"])
                if hasattr(result, "__await__"):
                    asyncio.run(settle(result))
                reply({"id": job, "ok": True, "ms": (time.perf_counter() - started) * 1000})
            elif request["op"] == "verify":
                started = time.perf_counter()
                try:
                    valid = bool(ezkl.verify(request["proof"], request["settings"], request["vk"], request["srs"]))
                except Exception:  # noqa: BLE001 - a proof that does not parse or verify
                    valid = False
                reply({"id": job, "ok": True, "valid": valid, "ms": (time.perf_counter() - started) * 1000})
            else:
                reply({"id": job, "ok": False, "message": f"unknown op {request['op']!r}"})
        except Exception as error:  # noqa: BLE001
            reply({"id": job, "ok": False, "message": str(error)})


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve()
        return
    request = json.loads(sys.stdin.read())
    try:
        import importlib.metadata

        version = importlib.metadata.version("ezkl")
    except Exception as error:  # noqa: BLE001
        fail("missing", "The ezkl Python package is not installed", str(error))
    if request["command"] == "version":
        answer({"ok": True, "version": version})
        return
    if version != request.get("expectVersion", version):
        fail("wrong-version", f"ezkl {version} is installed, Verity needs {request['expectVersion']}")
    if request["command"] == "build":
        asyncio.run(build(request))
        return
    if request["command"] == "evm-calldata":
        import tempfile

        import ezkl

        with tempfile.TemporaryDirectory() as folder:
            data = ezkl.encode_evm_calldata(request["proof"], os.path.join(folder, "calldata"), request.get("vk"))
        answer({"ok": True, "calldata": "0x" + bytes(data).hex()})
        return
    if request["command"] == "evm-verifier":
        asyncio.run(evm_verifier(request))
        return
    fail("bad-request", f"unknown command {request['command']!r}")


if __name__ == "__main__":
    main()
