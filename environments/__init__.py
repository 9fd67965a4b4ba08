"""Every agentgym environment family, registered here by id and alias.

Entry points are strings: nothing below is imported until ``agentgym.make``.
"""

from agentgym.registry import register

register(
    "agentgym/GuessNumber-v0",
    "agentgym.environments.guess.env:GuessNumberEnv",
    description="Find a hidden number with too-high/too-low feedback (the smallest env).",
    aliases=("guess",),
)
register(
    "agentgym/Nim-v0",
    "agentgym.environments.nim.env:NimEnv",
    description="Two players take 1-3 stones; whoever takes the last wins (multi-agent).",
    aliases=("nim",),
    multiagent=True,
)
register(
    "agentgym/Werewolf-v0",
    "agentgym.environments.werewolf.env:WerewolfEnv",
    description="Werewolf for 5-12 players: night kills, seer, doctor, free-text day talk and votes.",
    aliases=("werewolf",),
    multiagent=True,
)
register(
    "agentgym/DealOrNoDeal-v0",
    "agentgym.environments.negotiation.dond_env:DealOrNoDealEnv",
    description="Deal or No Deal (Lewis et al. 2017): divide books, hats and balls by talking.",
    aliases=("dealornodeal",),
    multiagent=True,
)
register(
    "agentgym/Bargain-v0",
    "agentgym.environments.negotiation.bargain_env:BargainEnv",
    description="CraigslistBargain-style price haggling between a buyer and a seller.",
    aliases=("bargain",),
    multiagent=True,
)
