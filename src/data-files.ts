// Names of files in the server's DATA_DIR that more than the server reads. Kept apart from the
// service that writes them, so the CLI can find them without importing server code.

/** Where the first start writes the root access key (mode 0600) when the environment gives none. */
export const rootKeyFileName = 'root-access-key.json';
