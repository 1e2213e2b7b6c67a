# The prepared run of the CUDA path (bench_gpu.py and the gpu-marked tests) for a
# GPU machine lent for a few minutes, without network, whose Python (3.12) has torch
# but not clusterfinder's other dependencies.
#
#   bash benchmarks/gpu_run.sh prepare   # here, with PyPI: the wheels into .whl/
#   bash benchmarks/gpu_run.sh run       # there, from the repository root
#
# The run needs .whl/ (ignored by git) and clusterfinder/_version.py (written by
# setuptools_scm at install) carried beside the working tree; it installs the wheels
# into /tmp/site, runs the gpu-marked tests, then bench_gpu.py's predict, scan and
# scan_detect sections (about 8 minutes on an H100/H200), writing bench_gpu.md and
# bench_gpu.json to $OUT (or to gpu_out/). Copy bench_gpu.md into RESULTS.md and the
# GPU paragraph of docs/scanning.rst.
set -u
WHEELS=.whl

case "${1:-}" in
prepare)
    rm -rf "$WHEELS" && mkdir -p "$WHEELS"
    # Binary wheels for the machine's CPython 3.12 on x86-64 Linux, at the versions
    # installed here where they are (both machines then run the same code). No
    # dependencies are followed: the list is the whole set the machine lacks.
    pins=$(python -c '
from importlib.metadata import PackageNotFoundError, version
names = """scikit-image lazy_loader networkx imageio tifffile astropy pyerfa
astropy-iers-data photutils regions pytest-astropy-header pytest-doctestplus
pytest-remotedata""".split()
pins = []
for name in names:
    try:
        pins.append(f"{name}=={version(name)}")
    except PackageNotFoundError:
        pins.append(name)
print(" ".join(pins))
')
    # One word per requirement: $pins is split on purpose.
    # shellcheck disable=SC2086
    pip download $pins --only-binary=:all: --python-version 3.12 \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux_2_28_x86_64 --no-deps -d "$WHEELS"
    test -f clusterfinder/_version.py || echo "clusterfinder/_version.py is missing: pip install -e . first"
    ;;
run)
    out="${OUT:-gpu_out}"
    mkdir -p "$out"
    export PYTHONUNBUFFERED=1 PYTHONPATH="/tmp/site:$PWD" OMP_NUM_THREADS=8
    pip install --no-index --no-deps --target /tmp/site "$WHEELS"/*.whl -q 2>&1 | tail -3
    python3 -c "import torch, astropy, photutils, skimage; print(torch.__version__, torch.cuda.get_device_name(0))"
    timeout 150 python3 -m pytest -m gpu tests/classifier tests/adaptation -q --color=no \
        -p no:cacheprovider 2>&1 | tail -15
    timeout 480 python3 benchmarks/bench_gpu.py --sections predict scan scan_detect \
        --output-dir "$out"
    echo "bench_gpu exit status $?"
    ;;
*)
    echo "usage: bash benchmarks/gpu_run.sh prepare|run" >&2
    exit 2
    ;;
esac
