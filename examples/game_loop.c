/* examples/game_loop.c — a game loop with a frame arena and an entity pool
 * (docs/arena.md, docs/pool.md).
 *
 * Entities live across frames, are created and destroyed one at a time and
 * all have one size: they come from a pool.  Everything a frame computes
 * (the list of visible entities, collision pairs, draw commands) dies at
 * the frame's end: it comes from an arena that is reset once per frame.
 *
 * The program simulates 600 frames deterministically, checks its own
 * results (every live entity is accounted for, the frame arena returns to
 * its start and stops committing memory once warm) and prints a summary.
 * Exit status 0 means every check passed; meson test runs it.
 */
#include <stdio.h>
#include <string.h>

#include "reservoir/arena.h"
#include "reservoir/pool.h"

typedef struct entity {
    float x, y, vx, vy;
    unsigned id;
    int hp;
    struct entity *next;   /* the game's own list of live entities */
} entity_t;

typedef struct draw_cmd {
    unsigned entity;
    float x, y;
} draw_cmd_t;

typedef struct world {
    rsv_pool_t *entities;
    entity_t *live;
    unsigned count, next_id;
    unsigned long long rng;
} world_t;

static unsigned world_rand(world_t *w)
{
    w->rng = w->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(w->rng >> 33);
}

static int spawn(world_t *w)
{
    entity_t *e = rsv_pool_alloc(w->entities);
    if (!e) return -1;
    e->x = (float)(world_rand(w) % 1000);
    e->y = (float)(world_rand(w) % 1000);
    e->vx = (float)((int)(world_rand(w) % 21) - 10) / 10.0f;
    e->vy = (float)((int)(world_rand(w) % 21) - 10) / 10.0f;
    e->id = w->next_id++;
    e->hp = 1 + (int)(world_rand(w) % 200);
    e->next = w->live;
    w->live = e;
    w->count++;
    return 0;
}

/* One frame: everything allocated in `frame` is temporary. */
static size_t frame_step(world_t *w, rsv_arena_t *frame, unsigned long long *checksum)
{
    /* Temporary array of the entities on screen, sized for the worst case. */
    entity_t **visible = RSV_NEW_ARRAY(frame, entity_t *, w->count + 1);
    size_t nvis = 0;
    for (entity_t *e = w->live; e; e = e->next) {
        e->x += e->vx;
        e->y += e->vy;
        e->hp--;
        if (e->x >= 0 && e->x < 800 && e->y >= 0 && e->y < 600) visible[nvis++] = e;
    }
    /* Draw commands, built then "submitted" (checksummed). */
    draw_cmd_t *cmds = RSV_NEW_ARRAY(frame, draw_cmd_t, nvis);
    for (size_t i = 0; i < nvis; i++) {
        cmds[i].entity = visible[i]->id;
        cmds[i].x = visible[i]->x;
        cmds[i].y = visible[i]->y;
        *checksum = *checksum * 31 + cmds[i].entity;
    }
    /* Dead entities go back to the pool. */
    for (entity_t **pe = &w->live; *pe;) {
        entity_t *e = *pe;
        if (e->hp <= 0) {
            *pe = e->next;
            rsv_pool_free(w->entities, e);
            w->count--;
        } else {
            pe = &e->next;
        }
    }
    return nvis;
}

int main(void)
{
    int failures = 0;
    rsv_pool_opts_t po = { 0 };
    po.block_size = sizeof(entity_t);
    po.name = "entities";
    rsv_arena_opts_t ao = { 0 };
    ao.name = "frame";
    ao.retain = 4 << 20;          /* a frame's worth stays committed */

    world_t w;
    memset(&w, 0, sizeof w);
    w.rng = 2024;
    w.entities = rsv_pool_create(&po);
    rsv_arena_t *frame = rsv_arena_create(&ao);
    if (!w.entities || !frame) {
        fprintf(stderr, "game_loop: cannot create the pool or the arena\n");
        return 1;
    }

    size_t start = rsv_arena_pos(frame);
    unsigned long long checksum = 0;
    size_t commits_warm = 0, visible_total = 0;
    for (int f = 0; f < 600; f++) {
        for (int k = 0; k < 40; k++)
            if (spawn(&w) != 0) failures++;
        visible_total += frame_step(&w, frame, &checksum);
        rsv_arena_reset(frame);   /* the frame's memory, gone in O(1) */
        if (rsv_arena_pos(frame) != start) failures++;
        if (f == 100) commits_warm = frame->region.commits;
    }
    if (frame->region.commits != commits_warm) {
        fprintf(stderr, "game_loop: the warm frame arena still commits memory\n");
        failures++;
    }

    unsigned counted = 0;
    for (entity_t *e = w.live; e; e = e->next) {
        counted++;
        if (!rsv_pool_owns(w.entities, e)) failures++;
    }
    rsv_pool_stats_t ps;
    rsv_pool_stats(w.entities, &ps);
    if (counted != w.count || ps.in_use != w.count) {
        fprintf(stderr, "game_loop: %u entities listed, %u counted, %zu in the pool\n",
                counted, w.count, ps.in_use);
        failures++;
    }
    if (ps.carved >= w.next_id / 2) failures++;   /* freed blocks were reused */

    rsv_arena_stats_t as;
    rsv_arena_stats(frame, &as);
    printf("game_loop: 600 frames, %u entities alive (peak %zu, %zu blocks carved), "
           "%zu drawn, checksum %llx, frame arena %zu KiB committed\n",
           w.count, ps.peak, ps.carved, visible_total, checksum, as.committed >> 10);
    rsv_arena_destroy(frame);
    rsv_pool_destroy(w.entities);
    if (failures) {
        printf("game_loop: FAILED (%d)\n", failures);
        return 1;
    }
    printf("game_loop: OK\n");
    return 0;
}
