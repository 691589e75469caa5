"""Function graphs: Boolean tasks written as DAGs of AND / OR / ID gates (numpy only, no torch)."""
from functiongraphs.errors import GraphError
from functiongraphs.structure_types import Structure
from functiongraphs.task import Split, Task

__all__ = ["GraphError", "Split", "Structure", "Task"]
