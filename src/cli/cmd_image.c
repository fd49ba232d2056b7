/* strata's image cache commands (stratad's /v1/images): image-list,
 * image-fetch, image-info, image-verify, image-delete, image-prune. A volume
 * on a cached image is vol-create-from --cache (cmd_volume.c). */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

#define SHORT_ID 16

static json_t *image_row(json_t *im)
{
	char size[32], vsize[32], used[32] = "?", id[SHORT_ID + 1];
	snprintf(id, sizeof(id), "%s", output__str(im, "sha512"));
	json_t *users = json_object_get(im, "users");
	if (users)
		snprintf(used, sizeof(used), "%zu", json_array_size(users));
	return json_pack("[s, s, s, s, s, s]", id, output__str(im, "format"),
		output__size_of(im, "size", size, sizeof(size)), output__size_of(im, "virtual_size", vsize, sizeof(vsize)),
		used, output__str(im, "state"));
}

static void print_images(json_t *r)
{
	static const char *const h[] = {"Image", "Format", "Size", "Virtual size", "Users", "State", NULL};
	output__list(h, r, image_row);
}

static void print_image(json_t *im)
{
	static const struct output_field f[] = {
		{"SHA-512:", "sha512", OUTPUT_STR, 0},
		{"URL:", "url", OUTPUT_STR, 0},
		{"Path:", "path", OUTPUT_STR, 0},
		{"Format:", "format", OUTPUT_STR, 0},
		{"Size:", "size", OUTPUT_SIZE, 0},
		{"Virtual size:", "virtual_size", OUTPUT_SIZE, 0},
		{"State:", "state", OUTPUT_STR, 0},
		{"Verified:", "verified", OUTPUT_YESNO, 0},
		{0}};
	output__fields(im, 14, f);
	char when[32];
	printf("%-14s %s\n", "Last used:", output__time((time_t)json_integer_value(json_object_get(im, "last_used")),
						       when, sizeof(when)));
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(im, "users"), i, u)
		printf("%-14s %s\n", i ? "" : "Used by:", json_string_value(u));
}

static void print_pruned(json_t *r)
{
	size_t i;
	json_t *im;
	json_t *removed = json_object_get(r, "removed");
	json_array_foreach(removed, i, im)
		printf("Removed %.16s... (%s)\n", output__str(im, "sha512"), output__str(im, "reason"));
	if (!json_array_size(removed))
		printf("Nothing to remove\n");
}

static int cmd_image_list(struct cli *c, struct st_err *err)
{
	return cli__call(c, "GET", "/v1/images", NULL, print_images, err);
}

static int cmd_image_fetch(struct cli *c, struct st_err *err)
{
	const char *url = cli__opt(c, "--url"), *sha = cli__opt(c, "--sha512"), *fmt = cli__opt(c, "--format");
	if (!url || !sha)
		return cli__usage_fail(err, "--url URL and --sha512 HEX are required");
	json_t *body = json_pack("{s:s, s:s, s:s}", "url", url, "sha512", sha, "format", fmt ? fmt : "raw");
	int rc = cli__call(c, "POST", "/v1/images", body, print_image, err);
	json_decref(body);
	return rc;
}

/* image-info, image-verify, image-delete: one request on the image */
static int cmd_image(struct cli *c, struct st_err *err)
{
	int rc = cli__call_object(c, "images", err);
	if (rc == 0 && !c->json && !strcmp(c->cmd->method, "DELETE"))
		printf("Image %s deleted\n", c->argv[0]);
	return rc;
}

static int cmd_image_prune(struct cli *c, struct st_err *err)
{
	return cli__call(c, "POST", "/v1/images/prune", NULL, print_pruned, err);
}

static const struct cli_cmd cmds[] = {
	{.name = "image-list", .run = cmd_image_list, .args = "", .help = "the host's cached base images"},
	{.name = "image-fetch", .run = cmd_image_fetch, .args = "--url URL --sha512 HEX [--format raw|qcow2]",
	 .help = "puts an image into the host's cache (fetched once, checked against its SHA-512)",
	 .opts = "--url= --sha512= --format="},
	{.name = "image-info", .run = cmd_image, .args = "IMAGE", .min_args = 1, .max_args = 1,
	 .help = "a cached image (its sha512 or 8+ of its first hex digits): state, size, users", .method = "GET",
	 .suffix = "", .human = print_image},
	{.name = "image-verify", .run = cmd_image, .args = "IMAGE", .min_args = 1, .max_args = 1,
	 .help = "hashes a cached image now; a corrupt one is removed", .method = "POST", .suffix = "/verify",
	 .human = print_image},
	{.name = "image-delete", .run = cmd_image, .args = "IMAGE", .min_args = 1, .max_args = 1,
	 .help = "removes a cached image no volume uses", .method = "DELETE", .suffix = ""},
	{.name = "image-prune", .run = cmd_image_prune, .args = "",
	 .help = "removes the unused images the cache's age and size limits let go now"},
};

const struct cli_group cmd_image_group = {"Image cache", cmds, ST_ARRAY_SIZE(cmds)};
