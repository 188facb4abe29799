"""`npu-double-buffer` (NPU.md section 8.5): a single-buffered program moved to alternate
halves of INP, WGT and ACC, VTA's two virtual threads done as an SRAM allocation. With the
tokens `npu-insert-deps` derives afterwards, chunk k+1's loads then overlap chunk k's GEMM and
tile t+1's GEMMs overlap tile t's store.

The program is the layer compiler's shape (convert-linalg-to-npu): a *chunk* is the INP and
WGT loads before one (non-reset) GEMM, which reads only what they loaded; a *tile* is the ACC
work up to and including its STOREs. Chunk k uses the INP and WGT halves k mod 2, tile t the
ACC half t mod 2. The pass checks both assumptions and says which instruction breaks them.
"""

from __future__ import annotations

from .binary import NpuProgram
from .deps import ranges
from .isa import Buffer, Instruction, NpuConfig, NpuIsaError, Opcode, Uop
from .uops import set_fields, uses_uops, with_table


def double_buffer(program: NpuProgram, config: NpuConfig) -> NpuProgram:
    """`program` (everything in the lower halves) with chunks and tiles in alternate halves.
    Shifted kernels are appended to the uop table, one per (kernel, shift); `dedup_uops`
    lays the table out afterwards."""
    _check_lower_halves(program, config)
    acc_half = config.rows(Buffer.ACC) // 2
    uops = list(program.uops)
    shifted: dict[tuple[int, int, int, int, int], tuple[int, int]] = {}
    chunk = tile = 0
    after_store = False
    out: list[Instruction] = []
    for insn in program.instructions:
        touches_acc = _touches_acc(insn)
        if touches_acc and after_store and insn.opcode != Opcode.STORE:
            tile, after_store = tile + 1, False
        acc = acc_half * (tile % 2)
        if insn.opcode == Opcode.STORE and not insn.is_nop():
            after_store = True
            out.append(set_fields(insn, sram_base=insn["sram_base"] + acc))
            continue
        if insn.opcode == Opcode.LOAD and not insn.is_nop():
            buffer = Buffer(insn["buffer"])
            if buffer in (Buffer.INP, Buffer.WGT):
                half = config.rows(buffer, insn["dtype"]) // 2 * (chunk % 2)
                out.append(set_fields(insn, sram_base=insn["sram_base"] + half))
            elif buffer == Buffer.ACC:
                out.append(set_fields(insn, sram_base=insn["sram_base"] + acc))
            else:
                out.append(insn)
            continue
        if not uses_uops(insn):
            out.append(insn)
            continue
        computes = insn.opcode == Opcode.GEMM and not insn["reset"]
        inp = wgt = 0
        if computes:
            dtype = insn["dtype"]
            inp = config.rows(Buffer.INP, dtype) // 2 * (chunk % 2)
            wgt = config.rows(Buffer.WGT, dtype) // 2 * (chunk % 2)
            chunk += 1
        # an ALU's src is an ACC row (unless it takes an immediate); a GEMM's an INP row
        src = inp if insn.opcode == Opcode.GEMM else (0 if insn["use_imm"] else acc)
        key = (insn["uop_bgn"], insn["uop_end"], acc, src, wgt)
        if key not in shifted:
            kernel = program.uops[key[0] : key[1]]
            moved = [Uop(u.dst + acc, u.src + src, u.wgt + wgt) for u in kernel]
            unmoved = (acc, src, wgt) == (0, 0, 0)
            shifted[key] = (key[0], key[1]) if unmoved else _append(uops, moved)
        bgn, end = shifted[key]
        out.append(set_fields(insn, uop_bgn=bgn, uop_end=end))
    _check_chunks(NpuProgram(tuple(out), tuple(uops), program.segments))
    return with_table(program, out, uops)


def _append(uops: list[Uop], kernel: list[Uop]) -> tuple[int, int]:
    uops.extend(kernel)
    return len(uops) - len(kernel), len(uops)


def _touches_acc(insn: Instruction) -> bool:
    if insn.is_nop():
        return False
    if insn.opcode in (Opcode.GEMM, Opcode.ALU, Opcode.STORE):
        return True
    return insn.opcode == Opcode.LOAD and insn["buffer"] == Buffer.ACC


def _check_lower_halves(program: NpuProgram, config: NpuConfig) -> None:
    """Every SRAM row the program touches lies in the lower half of its buffer."""
    for index, insn in enumerate(program.instructions):
        dtype = insn["dtype"] if insn.opcode in (Opcode.LOAD, Opcode.GEMM) else 0
        for found in ranges(insn, program.uops):
            if found.resource in ("dram", "uop"):
                continue
            buffer = {"inp": Buffer.INP, "wgt": Buffer.WGT, "acc": Buffer.ACC}[found.resource]
            rows = config.rows(buffer, dtype if buffer != Buffer.ACC else 0)
            if found.hi > rows // 2:
                raise NpuIsaError(
                    f"instruction {index} ({insn.opcode.name}) touches "
                    f"{found.resource} rows {found.lo}..{found.hi}, past the lower half "
                    f"({rows // 2} rows): the program is not single-buffered"
                )


def _check_chunks(program: NpuProgram) -> None:
    """Each computing GEMM reads only INP and WGT rows loaded since the previous one: the
    chunks are what the halves alternate by."""
    loaded: list[tuple[str, int, int]] = []
    for index, insn in enumerate(program.instructions):
        if insn.opcode == Opcode.LOAD and Buffer(insn["buffer"]) in (Buffer.INP, Buffer.WGT):
            loaded += [(r.resource, r.lo, r.hi) for r in ranges(insn, ()) if r.resource != "dram"]
            continue
        if not (insn.opcode == Opcode.GEMM and uses_uops(insn) and not insn["reset"]):
            continue
        for read in ranges(insn, program.uops):
            if read.resource not in ("inp", "wgt"):
                continue
            if not _covered(read.resource, read.lo, read.hi, loaded):
                raise NpuIsaError(
                    f"GEMM (instruction {index}) reads {read.resource} rows "
                    f"{read.lo}..{read.hi} not loaded since the previous GEMM: a chunk must "
                    "load what its GEMM reads"
                )
        loaded = []


def _covered(resource: str, lo: int, hi: int, loaded: list[tuple[str, int, int]]) -> bool:
    spans = sorted((a, b) for r, a, b in loaded if r == resource)
    reach = lo
    for a, b in spans:
        if a > reach:
            break
        reach = max(reach, b)
    return reach >= hi
