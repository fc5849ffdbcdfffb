"""Bindings: how entities of each Home Assistant domain map onto Modbus points.

`get_binding(domain)` returns the binding of a domain (None when it cannot be mapped);
`supported_domains()` lists them. Every module in this package defines one domain and registers
itself with `@register`; they are all imported here, so adding a domain means adding one module.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import (
    AttributeSpec,
    DomainBinding,
    ServiceCall,
    Value,
    get_binding,
    register,
    supported_domains,
)

__all__ = [
    "AttributeSpec",
    "DomainBinding",
    "ServiceCall",
    "Value",
    "get_binding",
    "register",
    "supported_domains",
]

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")
