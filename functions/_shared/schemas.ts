// The API's contract lives in the SDK package (one source for the server and its clients).
import { z } from 'zod';

export * from '../../sdk/src/contract/schemas.ts';

// The server's wording for zod's generic failures; set here, not in the contract, so the SDK never
// changes zod's messages in an application that imports it.
z.config({
  customError: (issue) => {
    if (issue.code === 'invalid_type') {
      if (issue.input === undefined) return 'is required';
      const expected = issue.expected === 'object' ? 'a JSON object' : issue.expected === 'array' ? 'an array' : `a ${issue.expected}`;
      return `must be ${expected}`;
    }
    return undefined;
  },
});
