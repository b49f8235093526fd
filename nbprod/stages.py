"""The pipeline's stages: one vocabulary for their names, order, modules and
commands. Every other place (the API table, the planner, the generated modules and
commands, the model card) takes them from here."""

from __future__ import annotations

import enum


class Stage(str, enum.Enum):
    """A stage of the generated pipeline, in the order the stages run.

    A ``str`` enum: it is its name wherever a string is (JSON, templates, config
    groups, ``Stage("training")``)."""

    PREPROCESSING = "preprocessing"
    TRAINING = "training"
    INFERENCE = "inference"
    EVALUATION = "evaluation"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def order(self) -> int:
        """Its place in the pipeline: a cell never goes to an earlier stage than
        one it depends on."""
        return _ORDER[self]

    @property
    def module(self) -> str:
        """The generated module that holds it."""
        return self.value

    @property
    def command(self) -> str:
        """``python -m PKG <command>`` runs it; its entry function's name."""
        return _COMMANDS[self]


_ORDER = {stage: i for i, stage in enumerate(Stage)}
_COMMANDS = {
    Stage.PREPROCESSING: "preprocess",
    Stage.TRAINING: "train",
    Stage.INFERENCE: "predict",
    Stage.EVALUATION: "evaluate",
}
STAGES: tuple[Stage, ...] = tuple(Stage)
