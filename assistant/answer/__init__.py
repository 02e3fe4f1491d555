"""The answer pipeline: follow-up resolution, prompts, generation, one verification stage
and citations. ``Pipeline.stream`` turns a question and its history into an ``Answer``."""

from ..text.lexicon import REFUSAL
from .checks import NAMES as CHECK_NAMES
from .pipeline import Pipeline

__all__ = ["CHECK_NAMES", "REFUSAL", "Pipeline"]
