"""Exact BROJA optimisation with a certified optimality gap.

The BROJA unique information (Bertschinger, Rauh, Olbrich, Jost, Ay 2014) needs

.. math::

    \\min_{Q \\in \\Delta_P} \\; f(Q) = -H_Q(Y \\mid X_1, X_2), \\qquad
    \\Delta_P = \\{Q \\ge 0 : Q(x_1, y) = P(x_1, y),\\; Q(x_2, y) = P(x_2, y)\\}.

Modules: :mod:`.certificate` (the fiber, the objective, the dual bound, restoring the
marginals, and the :class:`~.certificate.Certifier` every variant reports to), one module per
variant -- :mod:`.pd_dense` and :mod:`.pd_blocks` (primal-dual interior point on the dual, for
small and larger alphabets), :mod:`.dual_barrier` (log-barrier on the dual),
:mod:`.primal_barrier` (log-barrier on the primal) -- :mod:`.linalg` (the factorisation
they share) and :mod:`.solve` (:func:`solve_broja`: validation, reduction, the chain of
variants, the result).
"""

from infofusion.measures.pid.solver.solve import BrojaSolution, solve_broja

__all__ = ["BrojaSolution", "solve_broja"]
