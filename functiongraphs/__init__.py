"""Function graphs: Boolean tasks written as DAGs of AND / OR / ID gates (numpy only, no torch)."""
from functiongraphs.builder import GraphBuilder, Ref
from functiongraphs.dsl import format_graph as format
from functiongraphs.dsl import load, parse
from functiongraphs.errors import GraphError
from functiongraphs.generator import generate
from functiongraphs.graph import FunctionGraph, Gate, GraphWarning
from functiongraphs.structure import structure
from functiongraphs.structure_types import Structure
from functiongraphs.task import Split, Task
from functiongraphs.truthtable import truth_table
from functiongraphs import catalog  # noqa: E402  (needs the names above)

__all__ = ["FunctionGraph", "Gate", "GraphBuilder", "GraphError", "GraphWarning", "Ref", "Split", "Structure",
           "Task", "catalog", "format", "generate", "load", "parse", "structure", "truth_table"]
