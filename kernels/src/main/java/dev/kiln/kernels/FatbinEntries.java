package dev.kiln.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Lists the images in a fatbin (as written by {@code nvcc -fatbin}): each a PTX text or a cubin
 * for one SM architecture. Lets the backend tell, before asking the driver, whether the fatbin
 * has a cubin for a device or only PTX that the driver must compile.
 */
public final class FatbinEntries {

    /** Magic of a fatbin container, little-endian. */
    public static final int MAGIC = 0xBA55ED50;
    public static final int KIND_PTX = 1;
    public static final int KIND_CUBIN = 2;

    /** One image: its kind, the SM version it targets (86 for sm_86), and where its payload lies. */
    public record Entry(int kind, int smArch, long payloadOffset, long payloadSize, boolean compressed) {
    }

    private FatbinEntries() {
    }

    public static List<Entry> parse(byte[] fatbin) {
        ByteBuffer b = ByteBuffer.wrap(fatbin).order(ByteOrder.LITTLE_ENDIAN);
        List<Entry> out = new ArrayList<>();
        long container = 0;
        while (container + 16 <= fatbin.length) {
            if (b.getInt((int) container) != MAGIC) {
                if (out.isEmpty()) {
                    throw new IllegalArgumentException("not a fatbin: magic 0x"
                            + Integer.toHexString(b.getInt((int) container)));
                }
                break;
            }
            int headerSize = Short.toUnsignedInt(b.getShort((int) container + 6));
            long end = container + 16 + b.getLong((int) container + 8);
            long at = container + headerSize;
            while (at + 64 <= end && at + 64 <= fatbin.length) {
                int p = (int) at;
                int kind = Short.toUnsignedInt(b.getShort(p));
                long entryHeader = Integer.toUnsignedLong(b.getInt(p + 4));
                long payload = b.getLong(p + 8);
                int arch = b.getInt(p + 28);
                long flags = b.getLong(p + 40);
                if (entryHeader == 0) {
                    break;
                }
                out.add(new Entry(kind, arch, at + entryHeader, payload, (flags & 0x8000L) != 0
                        || (at + entryHeader + 4 <= fatbin.length && b.getInt((int) (at + entryHeader)) == 0xFD2FB528)));
                at += entryHeader + payload;
            }
            container = end;
        }
        return out;
    }

    /** The SM versions that have a cubin. */
    public static Set<Integer> architectures(byte[] fatbin) {
        Set<Integer> out = new TreeSet<>();
        for (Entry e : parse(fatbin)) {
            if (e.kind() == KIND_CUBIN) {
                out.add(e.smArch());
            }
        }
        return out;
    }

    /** The SM versions whose PTX the fatbin carries (75 for compute_75). */
    public static Set<Integer> ptxArchitectures(byte[] fatbin) {
        Set<Integer> out = new TreeSet<>();
        for (Entry e : parse(fatbin)) {
            if (e.kind() == KIND_PTX) {
                out.add(e.smArch());
            }
        }
        return out;
    }
}
