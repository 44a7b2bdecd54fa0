import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// The CI machine has two shared cores; the first render of a suite can take
// longer than Testing Library's default second.
configure({ asyncUtilTimeout: 5000 });
