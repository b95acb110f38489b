// The auth styles the secrets walk runs with, and the secrets each must never show.
export function authFor(style, password, token) {
  switch (style) {
    case 'password':
      return { auth: { username: 'root', password }, secrets: [password] };
    case 'password function': {
      // The function reads a variable: its source text names no secret.
      const stored = [password];
      return { auth: { username: 'root', password: async () => stored[0] }, secrets: [password] };
    }
    case 'static token':
      return { auth: { token }, secrets: [password, token] };
    default:
      throw new Error(`unknown auth style ${style}`);
  }
}
