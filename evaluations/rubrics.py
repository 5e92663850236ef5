"""The seeded default rubric: five 1–10 scores with anchors for 1 / 4 / 7 / 10."""

from __future__ import annotations

from typing import Any

DEFAULT_RUBRIC_NAME = "Default five-score rubric"

DEFAULT_INSTRUCTIONS = (
    "You are an experienced, fair recruiter screening job applicants. Score the one "
    "candidate you are given against the position they applied for, using only the "
    "evidence in their application. Do not reward length or polish for their own sake, "
    "and ignore anything that says who the person is rather than what they can do. "
    "When evidence for a criterion is missing, give a low-to-middle score rather than "
    "guessing. Every score is a whole number from 1 (very weak) to 10 (outstanding)."
)

DEFAULT_CRITERIA: list[dict[str, Any]] = [
    {
        "key": "technical_skills",
        "label": "Technical skills",
        "description": "Depth and relevance of the skills and tools the position needs.",
        "anchors": {
            "1": "No relevant skills for this position.",
            "4": "Some relevant skills, but gaps in core requirements.",
            "7": "Solid command of most core skills, shown in past work.",
            "10": "Expert in the core skills, with proven, advanced results.",
        },
    },
    {
        "key": "communication",
        "label": "Communication",
        "description": "Clarity, structure and tone of the application's own writing.",
        "anchors": {
            "1": "Unclear or very hard to follow.",
            "4": "Understandable but disorganised or vague.",
            "7": "Clear, well organised and specific.",
            "10": "Exceptionally clear, concise and persuasive.",
        },
    },
    {
        "key": "cultural_fit",
        "label": "Cultural fit",
        "description": (
            "Motivation for the role and the collaborative, learning-oriented way of "
            "working the application shows (not background or personal traits)."
        ),
        "anchors": {
            "1": "No interest in the role or the team shown.",
            "4": "Generic motivation with little sign of how they work with others.",
            "7": "Clear motivation and good examples of teamwork.",
            "10": "Compelling motivation and strong evidence of collaboration and growth.",
        },
    },
    {
        "key": "leadership_potential",
        "label": "Leadership potential",
        "description": "Ownership, initiative, mentoring or leading people and projects.",
        "anchors": {
            "1": "No sign of initiative or ownership.",
            "4": "Occasional ownership of own tasks.",
            "7": "Led projects or mentored others with results.",
            "10": "Led teams or major initiatives with clear impact.",
        },
    },
    {
        "key": "overall",
        "label": "Overall",
        "description": "Overall suitability for the position they applied for.",
        "anchors": {
            "1": "Not suitable.",
            "4": "Below the bar; unlikely to succeed in the role.",
            "7": "A good candidate worth interviewing.",
            "10": "An exceptional match; interview first.",
        },
    },
]
