package dev.letsbuildgpt.model;

import dev.letsbuildgpt.GptException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which GPUs the CUDA build's kernels run on, and the one line a device they cannot run on gets. */
class BackendTest {
    @Test
    void kernelsRunOnTheirOwnMajorVersionAtAnEqualOrHigherMinor() {
        for (String c : List.of("3.7", "5.0", "5.3", "6.2", "7.2", "7.5", "8.0", "8.6", "8.7", "8.9")) {
            String[] mm = c.split("\\.");
            assertTrue(Backend.cudaRuns(Integer.parseInt(mm[0]), Integer.parseInt(mm[1])), c);
        }
        for (String c : List.of("3.0", "3.5", "9.0", "10.0", "12.0", "2.1")) {
            String[] mm = c.split("\\.");
            assertFalse(Backend.cudaRuns(Integer.parseInt(mm[0]), Integer.parseInt(mm[1])), c);
        }
    }

    static Properties env(Object name, Object major, Object minor) {
        Properties p = new Properties();
        p.put("cuda.devicesInformation", List.of(Map.of("cuda.deviceName", name, "cuda.deviceMajor", major,
                "cuda.deviceMinor", minor)));
        return p;
    }

    @Test
    void aDeviceWithoutKernelsIsRefusedInOneLineNamingItAndTheSupportedOnes() {
        GptException e = assertThrows(GptException.class, () -> Backend.checkDevices(env("NVIDIA H200", 9, 0)));
        assertEquals("the GPU NVIDIA H200 has compute capability 9.0, and ND4J 1.0.0-M2.1's CUDA build has kernels"
                + " for 3.7, 5.0, 5.2, 6.0, 6.1, 7.0, 7.5, 8.0, 8.6 only (Kepler K80 to Ampere and Ada); use the CPU"
                + " build (mvn package, without -Pcuda) or one of those GPUs", e.getMessage());
        assertDoesNotThrow(() -> Backend.checkDevices(env("NVIDIA A100-SXM4-40GB", 8, 0)));
        assertDoesNotThrow(() -> Backend.checkDevices(env("NVIDIA GeForce RTX 4090", "8", "9")));
        assertDoesNotThrow(() -> Backend.checkDevices(new Properties()));   // the CPU backend lists no devices
    }
}
