from backend import _deferred

_deferred.install()
