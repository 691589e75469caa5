"""Two-stage pruning (spec/neural_sculpting.md sections 3-4): unit pruning, then edge pruning.

``prune_grid`` runs the paper's (p_u, p_e) grid as stacks of networks and keeps the sparsest
accepted one; ``prune`` is one (p_u, p_e) trial. One file per algorithm:

* ``schedule`` - the halving-and-rewind schedule (accept / rewind / halve / clamp / stop)
* ``driver``   - the loop shared by both stages (prune, retrain, accept or rewind)
* ``unit``     - loss-sensitivity unit scores and the global unit percentile
* ``edge``     - magnitude edge scores and the global weight percentile
* ``grid``     - validation, the dense net, both stages as stacks, the sparsest-network choice
* ``sequential`` - the same on a user's own ``torch.nn.Sequential`` (``prune_sequential``), and
  the way back to one carrying ``torch.nn.utils.prune`` masks (``to_sequential``)
"""
from sculpt.prune.grid import DEFAULT_P_E, DEFAULT_P_U, prune, prune_grid
from sculpt.prune.schedule import HalvingSchedule
from sculpt.prune.sequential import prune_sequential, to_sequential

__all__ = ["DEFAULT_P_E", "DEFAULT_P_U", "HalvingSchedule", "prune", "prune_grid", "prune_sequential",
           "to_sequential"]
