"""Load transforms: module rewrites the load pipeline applies for engines that lack a capability.

:data:`TRANSFORMS` is the registry, in the order they are applied; each is a
:class:`Transform` (see :mod:`.base`). The pipeline picks those whose
``provides`` meet a capability the module needs and the engine lacks.
"""

from __future__ import annotations

from .base import TRANSFORM_NAMESPACE, Transform
from .externref import EXTERNREF
from .metering import GROW_GUARD, METERING
from .stack_pointer import STACK_POINTER
from .trampolines import TRAMPOLINES

#: Every transform, in the order the pipeline applies them.
TRANSFORMS: tuple[Transform, ...] = (EXTERNREF, TRAMPOLINES, STACK_POINTER, GROW_GUARD, METERING)

__all__ = ["TRANSFORMS", "TRANSFORM_NAMESPACE", "Transform"]
