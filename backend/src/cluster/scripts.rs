//! The Lua scripts the broker runs. Redis runs a script alone, start to
//! end, so each is one atomic step of the whole cluster: no lock, no
//! consensus of our own.

use redis::Script;
use std::sync::LazyLock;

/// The members on every instance of the rooms the database listed (most
/// recently active first), then the other rooms with members on some
/// instance, by name, until the list holds `how many`: `{room, members,
/// …}`. Rooms of the occupied set found without members leave it (those it
/// walks past: it stops once the list is full).
///
/// KEYS: occupied (sorted set). ARGV: how many, the prefix of room keys,
/// then the rooms the database listed.
pub(super) static ROOM_MEMBERS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local limit = tonumber(ARGV[1])
local out = {}
local listed = {}
local count = 0
local function add(room, members)
  table.insert(out, room)
  table.insert(out, members)
  listed[room] = true
  count = count + 1
end
for i = 3, #ARGV do
  add(ARGV[i], redis.call('HLEN', ARGV[2] .. ARGV[i] .. '}:members'))
end
local start = 0
while count < limit do
  local page = redis.call('ZRANGE', KEYS[1], start, start + 99)
  if #page == 0 then
    break
  end
  local removed = 0
  for _, room in ipairs(page) do
    if count >= limit then
      break
    end
    local members = redis.call('HLEN', ARGV[2] .. room .. '}:members')
    if members == 0 then
      redis.call('ZREM', KEYS[1], room)
      removed = removed + 1
    elseif not listed[room] then
      add(room, members)
    end
  end
  start = start + #page - removed
end
return out
",
    )
});

/// Registers members of one instance in a room (a field of one's own
/// each, so nobody else holds it; an entry of this instance registered
/// again is one whose release is still on its way, see [`RELEASE`], or a
/// member renamed).
///
/// A member is held in the room's members hash as `<instance> <holder>
/// <tag>` under `<instance>:<holder>` (see `presence`). New and changed
/// entries are published as `{"joined": {"instance": "n", "names":
/// [tag, ...]}}` (the number as a string: cjson writes numbers with 14
/// significant digits). The instance is entered
/// among the live ones if it was missing (the broker lost it, or took the
/// instance for dead), so that its members are reaped should it die.
///
/// KEYS: members (hash), the instance's rooms (set), instances (sorted
/// set), occupied rooms (sorted set, see [`ROOM_MEMBERS`]). ARGV:
/// instance, room, channel, time to live (ms), then for each member its
/// field, holder and tag. Returns the holders refused.
pub(super) static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local mark = ARGV[1] .. ' '
local refused = {}
local joined = {}
local claimed = false
for i = 5, #ARGV, 3 do
  local field = ARGV[i]
  local value = mark .. ARGV[i + 1] .. ' ' .. ARGV[i + 2]
  local held = redis.call('HGET', KEYS[1], field)
  if held and string.sub(held, 1, #mark) ~= mark then
    table.insert(refused, ARGV[i + 1])
  else
    claimed = true
    if held ~= value then
      redis.call('HSET', KEYS[1], field, value)
      table.insert(joined, ARGV[i + 2])
    end
  end
end
if claimed then
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('ZADD', KEYS[4], 0, ARGV[2])
  if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
    local now = redis.call('TIME')
    local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
    redis.call('ZADD', KEYS[3], ms + tonumber(ARGV[4]), ARGV[1])
  end
end
if #joined > 0 then
  redis.call('PUBLISH', ARGV[3], cjson.encode({joined = {instance = ARGV[1], names = joined}}))
end
return refused
",
    )
});

/// Releases one member, if it is still held as it was, and publishes
/// `{"left": {"instance": "n", "names": [tag]}}`.
///
/// KEYS: members (hash). ARGV: field, the held value (`<instance>
/// <holder> <tag>`), channel, instance, tag. Returns 1 if released.
pub(super) static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[3], cjson.encode({left = {instance = ARGV[4], names = {ARGV[5]}}}))
return 1
",
    )
});

/// The Lua function both [`HEARTBEAT`] and [`LEAVE`] use: removes every
/// member an instance holds, room by room, publishing one `left` per room,
/// and then the instance itself. Expects KEYS[1] = instances and ARGV[2],
/// ARGV[3] = the prefixes of room keys and instance keys.
const REAP_FUNCTION: &str = r"
local function reap(instance)
  local rooms_key = ARGV[3] .. instance .. ':rooms'
  local mark = instance .. ' '
  for _, room in ipairs(redis.call('SMEMBERS', rooms_key)) do
    local members_key = ARGV[2] .. room .. '}:members'
    local held = redis.call('HGETALL', members_key)
    local names = {}
    for i = 1, #held, 2 do
      if string.sub(held[i + 1], 1, #mark) == mark then
        redis.call('HDEL', members_key, held[i])
        table.insert(names, string.match(held[i + 1], '^%S+ %S+ (.*)$'))  -- the tag
      end
    end
    if #names > 0 then
      redis.call('PUBLISH', ARGV[2] .. room .. '}:events', cjson.encode({left = {instance = instance, names = names}}))
    end
  end
  redis.call('DEL', rooms_key)
  redis.call('ZREM', KEYS[1], instance)
end
";

/// An instance's heartbeat: marks it alive until the broker's time now
/// plus its time to live, then reaps instances whose time ran out (at most
/// a given number per beat; the next beat takes the rest). Uses the
/// broker's clock, so instances' clocks need not agree.
///
/// KEYS: instances (sorted set). ARGV: instance, room key prefix, instance
/// key prefix, time to live (ms), most instances to reap. Returns
/// `{1 if the instance was missing (a first beat, or it had been reaped),
/// instances reaped}`.
pub(super) static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r"{REAP_FUNCTION}
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local missing = redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[4]), ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms, 'LIMIT', 0, tonumber(ARGV[5]))
for _, instance in ipairs(dead) do
  reap(instance)
end
return {{missing, #dead}}
"
    ))
});

/// An instance leaving the cluster (shutting down): reaps itself, so its
/// members disappear at once rather than when its time runs out.
///
/// KEYS: instances (sorted set). ARGV: instance, room key prefix, instance
/// key prefix.
pub(super) static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r"{REAP_FUNCTION}
reap(ARGV[1])
return 1
"
    ))
});
