/* libFuzzer: strata-cloud's token decoder. Odd first byte: the rest is a
 * decrypted payload for the msgpack parser; whatever it accepts must survive
 * encode -> Fernet -> decode unchanged. Even first byte: the rest is token
 * text for the whole decoder (base64url, Fernet checks, payload). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/identity/token.h"

static const char key_text[] = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fernet_key key;
	static int ready;
	if (!ready && fernet__key_parse(key_text, strlen(key_text), &key, NULL) == 0)
		ready = 1;
	if (size < 1 || !ready)
		return 0;
	struct token t, back;
	if (data[0] & 1) {
		if (token__parse_payload(data + 1, size - 1, &t, NULL) < 0)
			return 0;
		char *text;
		if (token__encode(&t, &key, 1, &text, NULL) < 0)
			return 0; /* e.g. an audit id that is not 16 bytes cannot be made */
		if (t.expires_at > 1) {
			if (token__decode(&key, 1, text, 1, &back, NULL) < 0)
				abort();
			back.issued_at = t.issued_at;
			if (strcmp(back.user_id, t.user_id) || back.scope != t.scope ||
			    back.expires_at != t.expires_at || strcmp(back.project_id, t.project_id))
				abort();
		}
		free(text);
		return 0;
	}
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	token__decode(&key, 1, text, 1, &t, NULL);
	free(text);
	return 0;
}
