"""Running a workflow's `checks:`: grade outputs (`grade`), ask a judge (`judge`), run every case (`runner`).

`runner.run_checks` is the one way in for the CLI, the Run tab and the bench; its results are
plain dataclasses (`results`) that history stores and reports print.
"""
