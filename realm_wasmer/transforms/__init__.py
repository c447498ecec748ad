"""Load transforms: module rewrites the load pipeline applies for engines that lack a capability.

:data:`TRANSFORMS` is the registry, in the order they are applied; each is a
:class:`Transform` (see :mod:`.base`). The pipeline picks those whose
``provides`` meet a capability the module needs and the engine lacks.
"""

from __future__ import annotations

from .base import TRANSFORM_NAMESPACE, Transform

#: Every transform, in the order the pipeline applies them.
TRANSFORMS: tuple[Transform, ...] = ()

__all__ = ["TRANSFORMS", "TRANSFORM_NAMESPACE", "Transform"]
