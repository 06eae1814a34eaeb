"""Built-in demo function tools: small typed Python functions the operator ships with the app.

They show the shape every installed function tool has: typed arguments (turned into the JSON
schema the model sees), a docstring (the model's description), and a plain return value. Operators
add their own through the `graphwright.tools` entry point group or `GRAPHWRIGHT_TOOL_MODULES`.
"""

from graphwright_tools.calculator import calculate
from graphwright_tools.dates import days_between

GRAPHWRIGHT_TOOLS = [calculate, days_between]
"""What this module offers as function tools (the registry reads this list)."""
