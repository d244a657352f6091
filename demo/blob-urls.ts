/** Blob URLs the page hands out, so that each is revoked once its result is gone. */
const live = new Set<string>();

export function blobUrl(data: BlobPart, type: string): string {
  const url = URL.createObjectURL(new Blob([data], { type }));
  live.add(url);
  return url;
}

export function revokeAll(): void {
  for (const u of live) URL.revokeObjectURL(u);
  live.clear();
}
