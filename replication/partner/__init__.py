"""The invited partner's pages (`/partner/…`): answer the invitation, then subscribe on their side.

They live in replication, not connections, because they show what is published and change
subscriptions; the invitation itself (links, sign-in, accept, decline) is `connections.invitations`.
"""
