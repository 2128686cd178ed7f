"""`python:<module>:<function>`: the user's function (found beside the spec first) returns
any Python object `tuning.data.adapters.objects` reads."""

from __future__ import annotations

from collections.abc import Iterator

from tuning.data.adapters.chunk import Chunk
from tuning.data.adapters.kind import Adapter
from tuning.data.adapters.objects import object_chunks
from tuning.spec.builders import import_function
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec
from tuning.spec.usercode import LeftUserCode, contained, keep_traceback


class PythonFunction(Adapter):
    kind = "python"
    needs_tensorflow = True  # the user's module may import it; it is imported to be checked

    def chunks(self, spec: Spec, chunk_rows: int) -> Iterator[Chunk]:
        """The user's code (its module, the call, and every read of what it returns, a
        generator's body included) runs contained: an exit or an interrupt it raises is an
        error naming it, never the end of the tool."""
        reference = spec.data.source.partition(":")[2]
        where = f"python:{reference}"
        try:
            with contained("the data loader"):
                function = import_function(spec, reference, "data.source")
                try:
                    data = function()
                except Exception as exc:  # the user's loader failing is the user's error
                    raise UserError(where, f"failed: {type(exc).__name__}: {exc}"
                                    .splitlines()[0]) from None
                yield from object_chunks(data, where, spec.data.take, chunk_rows)
        except LeftUserCode as exc:
            log = keep_traceback(exc, f"the data loader {where}")
            raise UserError(where, f"{exc} (traceback in {log})") from None
