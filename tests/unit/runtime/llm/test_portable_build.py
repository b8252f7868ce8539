"""The installed llama.cpp build runs on any x86-64 CPU with AVX2, not only on its builder.

llama-cpp-python is compiled at install time, and its default build is native:
it uses every instruction the build machine's CPU advertises. A wheel built on
an AVX-512/AMX Xeon died with SIGILL (`tileloadd`, an AMX tile instruction) at
the first inference on another machine. The project builds it portably (the
`extra-build-variables` of pyproject.toml); these tests fail when the library
that is actually installed is not that build: a stale native wheel from a
cache, a build whose flags did not reach CMake, or flags changed by mistake.
"""

from __future__ import annotations

import importlib.util
import platform
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

llama_cpp = pytest.importorskip("llama_cpp")

X86_64 = platform.machine().lower() in ("x86_64", "amd64")
IMAGE_BUILD_SCRIPT = Path(__file__).parents[4] / "deploy" / "docker" / "llama_wheel.py"


def _image_build_script() -> ModuleType:
    """The images' build check (a script, not a package): its list is the one list."""
    spec = importlib.util.spec_from_file_location("llama_wheel", IMAGE_BUILD_SCRIPT)
    assert spec is not None, IMAGE_BUILD_SCRIPT
    assert spec.loader is not None, IMAGE_BUILD_SCRIPT
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Beyond the portable baseline (AVX2, FMA, F16C): a CPU may lack them, and a kernel
# may not enable AMX even where the CPU has it. The image build refuses the same ones.
NOT_PORTABLE_FEATURES: tuple[str, ...] = _image_build_script().NOT_PORTABLE
# AMX tile instructions and any use of the AVX-512 register file.
NOT_PORTABLE_INSTRUCTIONS = re.compile(
    r"\b(tileloadd\w*|tilestored|tilezero|tilerelease|ldtilecfg|sttilecfg|tdp\w+)\b|%zmm\d+"
)


def system_info() -> dict[str, str]:
    """llama.cpp's own account of the instruction sets it was compiled for."""
    text = llama_cpp.llama_print_system_info().decode()
    return dict(re.findall(r"(\w+) = (\w+)", text))


def ggml_libraries() -> list[Path]:
    lib = Path(llama_cpp.__file__).parent / "lib"
    found = sorted(p for p in lib.glob("lib*.so") if p.is_file())
    assert found, f"no llama.cpp libraries in {lib}"
    return found


@pytest.mark.skipif(not X86_64, reason="the x86-64 instruction sets; arm64 builds generic armv8")
def test_compiled_for_the_portable_baseline_only() -> None:
    info = system_info()
    assert info.get("AVX2") == "1", f"not the AVX2 baseline build: {info}"
    extra = [name for name in NOT_PORTABLE_FEATURES if info.get(name) == "1"]
    assert not extra, (
        f"the installed llama.cpp was compiled for {', '.join(extra)}: a native build, "
        "which crashes with SIGILL on CPUs without them. Reinstall it with the project's "
        "build settings: `uv sync --reinstall-package llama-cpp-python`"
    )


@pytest.mark.skipif(not X86_64, reason="x86-64 disassembly")
@pytest.mark.parametrize("library", ["libggml-cpu.so", "libggml-base.so", "libllama.so"])
def test_no_amx_or_avx512_instruction_in_the_library(library: str) -> None:
    path = next((p for p in ggml_libraries() if p.name == library), None)
    assert path is not None, f"{library} is not installed"
    # Not a skip: a check that silently does not run proves nothing. Whoever compiled
    # llama-cpp-python here has binutils (the compiler's assembler and linker come with it).
    assert shutil.which("objdump") is not None, (
        "objdump (binutils) is needed to check the installed library's instructions"
    )
    disassembly = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # A disassembly that saw no vector code at all would prove nothing.
    assert "%ymm" in disassembly or library != "libggml-cpu.so"
    offending = sorted({m.group(0) for m in NOT_PORTABLE_INSTRUCTIONS.finditer(disassembly)})
    assert not offending, f"{path} uses instructions beyond AVX2: {', '.join(offending[:10])}"
