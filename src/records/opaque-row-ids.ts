import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto'

/** 12 bytes of IV, the 8 of the id, 16 of GCM's tag: 48 characters of base64url. */
const IV_BYTES = 12
const TAG_BYTES = 16
const SEALED_BYTES = IV_BYTES + 8 + TAG_BYTES

/**
 * Row ids as a view that must not show the table's numbering shows them: a usage row's id counts every request
 * of every user, so two of a key's rows would tell it how many others made in between. An id is sealed with
 * AES-256-GCM under a key derived from the master key (`purpose` keeps one view's ids from being read as another's),
 * its IV derived from the id itself (as SIV does), so that a row keeps one opaque id from page to page and poll to
 * poll. `reveal` answers undefined for anything it did not seal (tampered, another install's, another purpose's).
 */
export class OpaqueRowIds {
  private readonly cipherKey: Buffer
  private readonly ivKey: Buffer

  constructor(masterKey: string, purpose: string) {
    this.cipherKey = createHmac('sha256', masterKey).update(`${purpose}\0cipher`).digest()
    this.ivKey = createHmac('sha256', masterKey).update(`${purpose}\0iv`).digest()
  }

  hide(id: number): string {
    const plain = Buffer.alloc(8)
    plain.writeBigUInt64BE(BigInt(id))
    // One IV per id, and one id per IV: GCM's nonce is never used for two plaintexts.
    const iv = createHmac('sha256', this.ivKey).update(plain).digest().subarray(0, IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.cipherKey, iv)
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()])
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url')
  }

  reveal(text: string): number | undefined {
    const raw = Buffer.from(text, 'base64url')
    // Buffer.from skips what is not base64url: only the text `hide` writes reads back as itself.
    if (raw.length !== SEALED_BYTES || raw.toString('base64url') !== text) return undefined
    const decipher = createDecipheriv('aes-256-gcm', this.cipherKey, raw.subarray(0, IV_BYTES))
    decipher.setAuthTag(raw.subarray(IV_BYTES + 8))
    try {
      const id = Number(Buffer.concat([decipher.update(raw.subarray(IV_BYTES, IV_BYTES + 8)), decipher.final()]).readBigUInt64BE())
      return Number.isSafeInteger(id) ? id : undefined
    } catch {
      return undefined
    }
  }
}
