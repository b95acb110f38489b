/** Builds and uses every public object of a client, and lists each view of one that shows a secret. */
export function findLeaks(
  lib: import('./library.ts').Library,
  options: {
    endpoint: string;
    auth: unknown;
    secrets: string[];
    tokenPattern: RegExp;
    view: (value: unknown) => string;
    runtime: string;
  },
): Promise<string[]>;
