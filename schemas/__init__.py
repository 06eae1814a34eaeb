"""graphwright's config format: one way in (`load_workflow`), one error out (`ConfigError`).

from schemas import load_workflow, validate_text, to_yaml

workflow = load_workflow(text, "brief.yaml")      # raises ConfigError with every issue
report = validate_text(text, "brief.yaml")         # errors and warnings, never raises
text = to_yaml(workflow, base_text=original)       # keeps the user's comments and order
"""

from schemas.describe import describe_format, workflow_schema
from schemas.dump import SCHEMA_URL, to_yaml
from schemas.errors import ConfigError, ExpressionError, SchemaError, TemplateError, TemplateSyntaxError
from schemas.issues import Issue, ValidationReport
from schemas.loader import load_workflow, load_workflow_file, validate_text
from schemas.models import CURRENT_VERSION, Workflow

__all__ = [
    "CURRENT_VERSION",
    "SCHEMA_URL",
    "ConfigError",
    "ExpressionError",
    "Issue",
    "SchemaError",
    "TemplateError",
    "TemplateSyntaxError",
    "ValidationReport",
    "Workflow",
    "describe_format",
    "load_workflow",
    "load_workflow_file",
    "to_yaml",
    "validate_text",
    "workflow_schema",
]
