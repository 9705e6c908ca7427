package org.flexidepth4j.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Lane shapes shared by the block-quantized kernels: float lanes as wide as the machine's vectors (16 with AVX-512,
 * 8 with AVX2), and byte loads with as many lanes. The kernels widen bytes in two steps, byte -> int ({@code B2I})
 * -> float ({@code I2F}), because C2 does not compile one B2F conversion to the sign-extend + convert pair. They write these steps out rather than call a helper of ours ({@link Matrix} on why).
 */
final class QuantLanes {
    static final VectorSpecies<Float> F =
            FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256 ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> I = F.withLanes(int.class);
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
    /** Lanes per vector. */
    static final int L = F.length();

    /**
     * The integer dots against {@link Q8Activations}: 16 bytes widened to 16 shorts, products of two such halves
     * summed as shorts (|w x| <= 128 * 127, so two fit), widened to 8 ints, converted to float once per block.
     */
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;

    private QuantLanes() {}
}
