"""Whole-map operations of keyed maps: iteration, ``len()``, ``items()``, dumps,
``pop_all()``, ``update_from()`` and ``clear()``.

Batch syscalls where the kernel has them for the map type, else one key at a
time.  Every walk is bounded by ``max_entries``: GET_NEXT_KEY with a key that
was deleted meanwhile restarts from the first key.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable, Iterator, Mapping

from pybpf._codecs.codec import IntCodec
from pybpf._core.enums import UpdateFlags
from pybpf._core.errors import NOT_SUPPORTED, BPFValueError, NotSupportedError
from pybpf._core.ffi import ffi, lib
from pybpf._maps.base import MapBase

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["BulkOps"]

# Entries per batch syscall: big chunks make dumps cheaper per entry (measured:
# 8192 -> 262144 entries saves ~10% of dict(m.items())), capped in bytes.
_BATCH_CHUNK = 1 << 18
_BATCH_BYTES = 8 << 20


class _NoBatch(Exception):
    """The kernel has no batch operations for this map type."""


class BulkOps(MapBase):
    """The whole-map operations of ``Map`` (see the module docstring)."""

    _batch = True  # until the kernel says it has no batch ops for the type
    # A key exists only where a lookup succeeds (fd arrays: empty slots are
    # still walked by GET_NEXT_KEY), so counting and iterating read values too.
    _keys_need_lookup: bool = False

    def __len__(self) -> int:
        """``max_entries`` for arrays; otherwise the entries present now (one dump)."""
        if self._type.is_array:
            self._require_live()
            return self._max_entries
        return sum(n for _, _, n in self._iter_raw(values=self._keys_need_lookup))

    def __iter__(self) -> Iterator[Any]:
        """Keys, at most ``max_entries`` of them, even while others delete."""
        if self._type.is_array:
            self._require_live()
            if isinstance(self._kcodec, IntCodec):
                return iter(range(self._max_entries))
        decode, size = self._kcodec.decode_many, self._key_size
        chunks = self._iter_raw(values=self._keys_need_lookup)
        return (k for keys, _, n in chunks for k in decode(ffi.buffer(keys, n * size), n, size))

    def pop_all(self) -> dict[Any, Any]:
        """Read and delete every entry in one pass; returns them as a dict.

        Where the kernel has lookup-and-delete for the type (the hash types,
        batched), counters read this way lose no increment: each entry is gone
        the moment it is read.  Elsewhere (LPM_TRIE, ...) each key is looked
        up, then deleted, and an update between the two is lost.  Arrays cannot delete:
        ``NotSupportedError`` (read ``items()`` and write zeros instead, which
        loses what programs add in between).

        Nothing read is lost: keys that cannot be dict keys are refused before
        anything is deleted (``TypeError``), and an error after entries were
        deleted (a value that does not decode, the map closed meanwhile)
        carries every deleted entry as raw bytes in its ``entries`` attribute
        (``{key bytes: value bytes}``).
        """
        self._require_live()
        if self._type.is_array:
            raise NotSupportedError(
                errno.EOPNOTSUPP,
                f"map '{self._name}' is a {self._type.name}: its elements cannot be deleted, so pop_all() cannot "
                "read-and-clear it; use a hash map, or items() then writes of zero",
            )
        self._require_hashable_keys()
        taken = self._take_all_keeping()
        out: dict[Any, Any] = {}
        ksize, vsize = self._key_size, self._vtotal
        try:
            for keys, values, n in taken:
                out.update(zip(self._kcodec.decode_many(keys, n, ksize), self._vcodec.decode_many(values, n, vsize)))
        except Exception as exc:
            error = BPFValueError(
                errno.EINVAL,
                f"pop_all() on map '{self._name}' deleted {sum(n for *_, n in taken)} entries but could not decode "
                f"them ({exc}); they are in this error's .entries as raw bytes",
            )
            error.entries = self._raw_entries(taken)  # type: ignore[attr-defined]
            raise error from exc
        return out

    def _require_hashable_keys(self) -> None:
        """pop_all() returns a dict: refuse, before deleting, keys that cannot be dict keys."""
        try:
            hash(self._kcodec.decode(bytes(self._key_size)))
        except TypeError:
            raise TypeError(
                f"map '{self._name}': pop_all() returns a dict, and keys of type "
                f"{getattr(self._kcodec.ctype, '__name__', self._kcodec.ctype)!r} cannot be dict keys; "
                "use the BTF key type or a hashable one (set_types(key_type=...)), or read with items()"
            ) from None

    def _take_all_keeping(self) -> list[tuple[bytes, bytes, int]]:
        """Delete every entry and return the raw chunks; an error after some
        were deleted carries them, as raw bytes, in its ``entries``."""
        taken: list[tuple[bytes, bytes, int]] = []  # raw chunks, copied out before decoding
        try:
            self._take_all(taken)
        except BaseException as exc:
            if taken:
                exc.entries = self._raw_entries(taken)  # type: ignore[attr-defined]
            raise
        return taken

    def _take_all(self, taken: list[tuple[bytes, bytes, int]]) -> None:
        """Delete every entry, appending each chunk's raw keys and values to ``taken``."""
        ksize, vsize = self._key_size, self._vtotal
        if self._batch:
            try:
                for keys, values, n in self._iter_batch(lib.pybpf_map_lookup_and_delete_batch):
                    taken.append((ffi.buffer(keys, n * ksize)[:], ffi.buffer(values, n * vsize)[:], n))
                return
            except _NoBatch:
                pass  # raised before the first chunk: nothing was deleted yet
        val = ffi.new("char[]", vsize)
        guard = self._guard
        atomic = True
        for key, _, _ in self._iter_next_key(values=False):
            ret = lib.pybpf_map_lookup_and_delete(guard, key, val) if atomic else 0
            if -ret in NOT_SUPPORTED or ret == -errno.EINVAL:
                atomic = False  # no lookup-and-delete for this type: look up, then delete
            if not atomic:
                ret = lib.pybpf_map_lookup(guard, key, val) or lib.pybpf_map_delete(guard, key)
            if ret == -errno.ENOENT:
                continue  # deleted by someone else meanwhile
            if ret:
                self._fail(ret, "pop from")
            taken.append((ffi.buffer(key, ksize)[:], ffi.buffer(val, vsize)[:], 1))

    def _raw_entries(self, taken: list[tuple[bytes, bytes, int]]) -> dict[bytes, bytes]:
        ksize, vsize = self._key_size, self._vtotal
        return {
            keys[i * ksize : (i + 1) * ksize]: values[i * vsize : (i + 1) * vsize]
            for keys, values, n in taken
            for i in range(n)
        }

    def update_from(
        self, entries: Mapping[Any, Any] | Iterable[tuple[Any, Any]], *, flags: UpdateFlags | int = UpdateFlags.ANY
    ) -> int:
        """Write many entries with batch syscalls (one at a time where the kernel
        has no batch update for the type); returns how many were written.

        ``flags`` apply to every entry; with ``NOEXIST``/``EXIST`` the writes go
        one at a time (the kernel's batch update takes only ``F_LOCK``).  On an
        error, the entries before the failing one are written and the
        exception says which key failed.
        """
        self._require_live()
        pairs = list(entries.items() if isinstance(entries, Mapping) else entries)
        if not pairs:
            return 0
        kenc, venc = self._kcodec.encode, self._vcodec.encode
        keys = b"".join(kenc(k) for k, _ in pairs)
        vals = b"".join(venc(v) for _, v in pairs)
        return self._write_raw(keys, vals, len(pairs), int(flags), lambda i: pairs[i][0])

    def _write_raw(self, keys: Any, vals: Any, n: int, flags: int, key_at: Callable[[int], Any]) -> int:
        """Write ``n`` entries laid out as the map's keys and values (buffers)
        with batch syscalls, else one at a time; ``key_at(i)`` names entry
        ``i`` in an error.  Returns ``n``; on an error, entries before the
        failing one are written."""
        guard = self._guard
        done = 0
        kbuf, vbuf = ffi.from_buffer(keys), ffi.from_buffer(vals)
        # The kernel's batch update takes no flag but F_LOCK (EINVAL otherwise).
        if self._batch and not flags & ~UpdateFlags.F_LOCK:
            opts = ffi.new("struct bpf_map_batch_opts *")
            opts.sz = ffi.sizeof("struct bpf_map_batch_opts")
            opts.elem_flags = flags
            count = ffi.new("__u32 *")
            while done < n:
                count[0] = n - done
                ret = lib.pybpf_map_update_batch(
                    guard, kbuf + done * self._key_size, vbuf + done * self._vtotal, count, opts
                )
                done += count[0]
                if ret == 0:
                    continue
                if done == 0 and -ret in NOT_SUPPORTED:
                    break  # no batch update for this type: one at a time below
                self._fail(ret, "batch update", key_at(min(done, n - 1)), flags)
            else:
                return done
        for i in range(done, n):
            ret = lib.pybpf_map_update(guard, kbuf + i * self._key_size, vbuf + i * self._vtotal, flags)
            if ret:
                self._fail(ret, "update", key_at(i), flags)
        return n

    def clear(self) -> None:
        """Delete every entry; on arrays (which cannot delete), zero every element."""
        self._require_live()
        if self._type.is_array:
            self._zero_array()
            return
        for keys, _, n in self._iter_raw(values=False):
            self._delete_many(keys, n)

    def _zero_array(self) -> None:
        n = self._max_entries
        keys = ffi.new("__u32[]", list(range(n)))
        vals = ffi.new("char[]", n * self._vtotal)
        if self._batch:
            count = ffi.new("__u32 *", n)
            ret = lib.pybpf_map_update_batch(self._guard, keys, vals, count, ffi.NULL)
            if ret == 0:
                return
            if -ret not in NOT_SUPPORTED:
                self._fail(ret, "batch update in")
        for i in range(n):
            ret = lib.pybpf_map_update(self._guard, keys + i, vals, 0)
            if ret:
                self._fail(ret, "update", i)

    def _delete_many(self, keys: Any, n: int) -> None:
        if self._batch:
            count = ffi.new("__u32 *", n)
            ret = lib.pybpf_map_delete_batch(self._guard, keys, count, ffi.NULL)
            if ret == 0:
                return
            if -ret not in NOT_SUPPORTED and -ret not in (errno.ENOENT, errno.EINVAL):
                self._fail(ret, "batch delete in")
        # One by one; a key another user deleted meanwhile is not an error.
        for i in range(n):
            ret = lib.pybpf_map_delete(self._guard, keys + i * self._key_size)
            if ret and ret != -errno.ENOENT:
                self._fail(ret, "delete")

    def _iter_raw(self, *, values: bool) -> Iterator[tuple[Any, Any, int]]:
        """Yield (keys buffer, values buffer, count) chunks of the whole map.

        Batch lookup where the kernel has it for this map type; else
        GET_NEXT_KEY (+ lookup), bounded by ``max_entries`` steps because a key
        deleted under us makes the kernel restart from the first key.
        """
        self._require_live()
        if not self._key_size:
            raise NotSupportedError(
                errno.EOPNOTSUPP, f"map '{self._name}' ({self._type.name}) has no keys: it has no entries to list"
            )
        if self._batch:
            try:
                yield from self._iter_batch()
                return
            except _NoBatch:
                self._batch = False
        yield from self._iter_next_key(values)

    def _iter_batch(self, call: Any = None) -> Iterator[tuple[Any, Any, int]]:
        """Batch lookup (or ``call``: lookup-and-delete) chunk by chunk; _NoBatch if unsupported."""
        call = call or lib.pybpf_map_lookup_batch
        per_entry = self._key_size + self._vtotal
        chunk = max(1, min(self._max_entries, _BATCH_CHUNK, _BATCH_BYTES // per_entry))
        token_size = max(self._key_size, 8)
        tokens = [ffi.new("char[]", token_size), ffi.new("char[]", token_size)]
        count = ffi.new("__u32 *")
        in_batch = ffi.NULL
        seen = 0
        first = True
        # Reused per chunk: every consumer decodes a chunk before asking for the next.
        keys = ffi.new("char[]", chunk * self._key_size)
        vals = ffi.new("char[]", chunk * self._vtotal)
        while seen < self._max_entries:
            count[0] = chunk
            ret = call(self._guard, in_batch, tokens[1], keys, vals, count, ffi.NULL)
            if ret == -errno.ENOSPC and count[0] == 0 and chunk < 2 * self._max_entries:
                # A hash bucket holds more entries than the buffers: grow them.
                chunk *= 2
                keys = ffi.new("char[]", chunk * self._key_size)
                vals = ffi.new("char[]", chunk * self._vtotal)
                continue
            if ret and first and (-ret in NOT_SUPPORTED or ret == -errno.EINVAL):
                raise _NoBatch
            if ret and ret != -errno.ENOENT:
                self._fail(ret, "batch lookup in")
            first = False
            n = min(count[0], self._max_entries - seen)
            if n:
                seen += n
                yield keys, vals, n
            if ret == -errno.ENOENT:
                return
            tokens.reverse()
            in_batch = tokens[0]

    def _iter_next_key(self, values: bool) -> Iterator[tuple[Any, Any, int]]:
        size = self._key_size
        cur, nxt = ffi.new("char[]", size), ffi.new("char[]", size)
        val = ffi.new("char[]", self._vtotal) if values else ffi.NULL
        prev = ffi.NULL
        seen: set[bytes] = set()
        guard = self._guard
        for _ in range(self._max_entries):
            ret = lib.pybpf_map_next_key(guard, prev, nxt)
            if ret == -errno.ENOENT:
                return
            if ret:
                self._fail(ret, "iterate")
            cur, nxt = nxt, cur
            prev = cur
            raw = ffi.buffer(cur, size)[:]
            if raw in seen:  # a restart after a concurrent delete repeats keys
                continue
            seen.add(raw)
            if values:
                ret = lib.pybpf_map_lookup(guard, cur, val)
                if ret == -errno.ENOENT:
                    continue  # deleted between the two syscalls
                if ret:
                    self._fail(ret, "look up", raw)
            yield cur, val, 1
