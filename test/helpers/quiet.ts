/** Mocha set-up (every .mocharc*): no tfjs cpu-backend banner in the test output (see src/tensor/quiet). */
import { quietCpuBanner } from '../../src/tensor/quiet';

quietCpuBanner();
