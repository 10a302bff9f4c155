"""Processing pipelines: field mappings and logsource conditions per target, as data.

``ecs.yml`` is the local engine's pipeline. Indicator lists become pipeline variables and are
expanded into rules by placeholders: ``%name%`` in string values (pySigma's value-list
placeholders) and ``%name%`` inside ``|re`` values (an alternation of the escaped values).
"""

from __future__ import annotations

from importlib.resources import files

from sigma.processing.pipeline import ProcessingPipeline

from imagehunt import safe_yaml
from imagehunt.indicators import placeholder_values
from imagehunt.pipelines.regex_placeholders import regex_placeholder_item


def load_pipeline(target: str = "ecs") -> ProcessingPipeline:
    """The pipeline for ``target`` with indicator lists as placeholder variables."""
    text = (files("imagehunt") / "pipelines" / f"{target}.yml").read_text(encoding="utf-8")
    return placeholder_pipeline() + ProcessingPipeline.from_dict(safe_yaml.load(text))


def placeholder_pipeline() -> ProcessingPipeline:
    """Only the expansion of indicator-list placeholders: no field mapping, no conditions."""
    variables = placeholder_values()
    expand = ProcessingPipeline.from_dict(
        {
            "name": "imagehunt indicator lists",
            "priority": 0,
            "transformations": [
                {"id": "indicator_lists", "type": "value_placeholders"},
            ],
        }
    )
    expand.vars = dict(variables)
    regex = ProcessingPipeline(items=[regex_placeholder_item(variables)], vars=dict(variables))
    return expand + regex
