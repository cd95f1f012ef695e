"""Commands: the robot's commands, one class per module, found by the registry.

Every module of this package is imported here, so that its @register classes are
in the registry: adding a command is adding a file.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module("%s.%s" % (__name__, _module.name))
