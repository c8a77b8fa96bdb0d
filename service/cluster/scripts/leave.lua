-- ARGV: user. Revokes the grant and ends the presence. Returns {existed
-- (1: a grant or a presence, else 0), then the ended presence if any}.
local user = ARGV[1]
local had_grant = remove_grant(user)
local p = end_presence(user)
return append({(had_grant or p) and 1 or 0}, p)
