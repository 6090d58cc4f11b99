"""Type stubs of the C++ extension (use the nnopt package, not this module)."""
from typing import Any, Optional

import numpy as np
import numpy.typing as npt

class Error(RuntimeError):
    """nnopt::Error from the C++ library (re-raised as nnopt.InputError)."""

class Network:
    """nn::Network: the immutable layer chain."""
    @property
    def input_size(self) -> int: ...
    @property
    def output_size(self) -> int: ...
    @property
    def input_shape(self) -> list[int]: ...
    @property
    def num_layers(self) -> int: ...
    @property
    def relu_neurons(self) -> int: ...
    @property
    def piecewise_linear(self) -> bool: ...
    def summary(self) -> str: ...
    def layers(self) -> list[dict[str, Any]]: ...
    def forward(self, xs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
    def with_input_normalization(self, mean: float, std: float) -> "Network": ...

class MarginJob:
    """Arguments of one `nnopt attack` margin run."""
    model_name: str
    input_name: str
    image: npt.NDArray[np.float64]
    label: Optional[int]
    eps: float
    target: str
    method: str
    nlp_form: str
    mpec_form: str
    bounds: str
    time_limit: float
    lp_time_limit: float
    early_stop: bool
    warm_start: Optional[str]
    mean: Optional[float]
    std: Optional[float]
    def __init__(self) -> None: ...

class MinDistJob:
    """Arguments of one `nnopt attack --objective min-distortion` run."""
    model_name: str
    input_name: str
    image: npt.NDArray[np.float64]
    label: Optional[int]
    target: int
    method: str
    norm: str
    gap: float
    max_eps: Optional[float]
    bounds: str
    time_limit: float
    lp_time_limit: float
    warm_start: Optional[str]
    mean: Optional[float]
    std: Optional[float]
    def __init__(self) -> None: ...

def min_distortion_attack(net: Network, job: MinDistJob) -> dict[str, Any]: ...
def load_onnx(path: str) -> Network: ...
def load_onnx_bytes(data: bytes, name: str) -> Network: ...
def load_image(path: str) -> dict[str, Any]: ...
def load_dataset_item(path: str, index: int) -> dict[str, Any]: ...
def margin_attack(net: Network, job: MarginJob) -> dict[str, Any]: ...
def verify(net: Network, vnnlib: str, timeout: float) -> dict[str, Any]: ...
def write_panel(path: str, original: npt.NDArray[np.float64], adversarial: npt.NDArray[np.float64],
                channels: int, rows: int, cols: int, logits_original: npt.NDArray[np.float64],
                logits_adversarial: npt.NDArray[np.float64], title: str, subtitle: str,
                caption: str) -> None: ...
