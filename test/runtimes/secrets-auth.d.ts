/** The auth options of one style ('password', 'password function', 'static token') and the secrets it must never show. */
export function authFor(style: string, password: string, token: string): { auth: any; secrets: string[] };
