"""The Splunk CIM mapping of ``pipelines/splunk_cim.yml``: datasets, their fields, pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from sigma.processing.pipeline import ProcessingPipeline

from imagehunt import safe_yaml
from imagehunt.pipelines import placeholder_pipeline

PIPELINE_FILE = "splunk_cim.yml"
SIGMAHQ_TO_ECS = "sigmahq_to_ecs"  # the ECS pipeline's item mapping Sysmon names to ECS


@dataclass(frozen=True)
class Dataset:
    """A CIM dataset (or sourcetype): its base search and ECS -> Splunk field mapping."""

    name: str
    mapping_id: str
    search: str
    category: str | None
    product: str | None
    service: str | None
    fields: dict[str, str]

    def matches(self, category: str | None, product: str | None, service: str | None) -> bool:
        """True when a rule's log source is this dataset's."""
        if self.category is not None:
            return category == self.category
        return (product, service) == (self.product, self.service)


def _document(name: str = PIPELINE_FILE) -> dict[str, Any]:
    text = (files("imagehunt") / "pipelines" / name).read_text(encoding="utf-8")
    document: dict[str, Any] = safe_yaml.load(text)
    return document


@cache
def datasets() -> tuple[Dataset, ...]:
    """The datasets of the YAML file, each with its field mapping."""
    document = _document()
    mappings = {item["id"]: item["mapping"] for item in document["transformations"]}
    return tuple(
        Dataset(
            name=entry["name"],
            mapping_id=entry["mapping"],
            search=entry["search"],
            category=entry.get("category"),
            product=entry.get("product"),
            service=entry.get("service"),
            fields=dict(mappings[entry["mapping"]]),
        )
        for entry in document["datasets"]
    )


def dataset_for(category: str | None, product: str | None, service: str | None) -> Dataset | None:
    """The dataset of a log source, or None when the target has none."""
    for dataset in datasets():
        if dataset.matches(category, product, service):
            return dataset
    return None


def splunk_fields() -> frozenset[str]:
    """Every Splunk field name the mapping produces."""
    return frozenset(name for d in datasets() for name in d.fields.values())


def cim_pipeline() -> ProcessingPipeline:
    """Indicator placeholders, SigmaHQ -> ECS names, then ECS -> Splunk CIM names."""
    document = _document()
    document.pop("datasets")
    ecs = _document("ecs.yml")["transformations"]
    sigmahq = [item for item in ecs if item["id"] == SIGMAHQ_TO_ECS]
    document["transformations"] = sigmahq + document["transformations"]
    return placeholder_pipeline() + ProcessingPipeline.from_dict(document)
