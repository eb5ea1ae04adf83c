"""Every GraphQL document the Linear connector sends, in one place.

The contract tests validate each of them (with typed variables) against Linear's published
schema (``linear-schema.graphql``, read from ``$HUB_SPECS_DIR``); the Linear simulator executes
them against the same schema. Adding an operation here is all it takes to have it checked.
"""

from __future__ import annotations

# The normalised issue: the same selection on Issue and on IssueSearchResult (searchIssues).
_ISSUE_SELECTION = """
  id identifier number title description url priority priorityLabel
  createdAt updatedAt completedAt canceledAt labelIds
  state { id name type }
  team { id key name }
  assignee { id name email }
  creator { id name email }
"""
ISSUE_FIELDS = f"fragment IssueFields on Issue {{{_ISSUE_SELECTION}}}"
SEARCH_FIELDS = f"fragment SearchFields on IssueSearchResult {{{_ISSUE_SELECTION}}}"
COMMENT_FIELDS = """
fragment CommentFields on Comment {
  id body url createdAt updatedAt
  user { id name email }
  issue { id identifier }
}
"""

VIEWER = """
query Viewer {
  viewer { id name email displayName }
  organization { id name urlKey }
}
"""

ISSUE_CREATE = (
    """
mutation IssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) { success issue { ...IssueFields } }
}
"""
    + ISSUE_FIELDS
)

ISSUE_UPDATE = (
    """
mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) {
  issueUpdate(id: $id, input: $input) { success issue { ...IssueFields } }
}
"""
    + ISSUE_FIELDS
)

ISSUE_TEAM = """
query IssueTeam($id: String!) {
  issue(id: $id) { id identifier team { id key } }
}
"""

WORKFLOW_STATES = """
query WorkflowStates($filter: WorkflowStateFilter, $first: Int, $after: String) {
  workflowStates(filter: $filter, first: $first, after: $after) {
    nodes { id name type team { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

COMMENT_CREATE = (
    """
mutation CommentCreate($input: CommentCreateInput!) {
  commentCreate(input: $input) { success comment { ...CommentFields } }
}
"""
    + COMMENT_FIELDS
)

SEARCH_ISSUES = (
    """
query SearchIssues(
  $term: String!, $first: Int, $after: String, $teamId: String, $includeComments: Boolean
) {
  searchIssues(
    term: $term, first: $first, after: $after, teamId: $teamId, includeComments: $includeComments
  ) {
    nodes { ...SearchFields }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + SEARCH_FIELDS
)

# Content export: issues updated after a point, oldest update first, with their first comments.
EXPORT_ISSUES = (
    """
query ExportIssues($filter: IssueFilter, $first: Int, $after: String, $sort: [IssueSortInput!]) {
  issues(filter: $filter, first: $first, after: $after, sort: $sort, includeArchived: false) {
    nodes {
      ...IssueFields
      comments(first: 50) { nodes { id body createdAt user { name } } pageInfo { hasNextPage endCursor } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + ISSUE_FIELDS
)

ISSUE_COMMENTS = """
query IssueComments($id: String!, $after: String) {
  issue(id: $id) {
    comments(first: 50, after: $after) {
      nodes { id body createdAt user { name } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

WEBHOOK_CREATE = """
mutation WebhookCreate($input: WebhookCreateInput!) {
  webhookCreate(input: $input) {
    success
    webhook { id enabled url label resourceTypes allPublicTeams secret team { id } }
  }
}
"""

WEBHOOK_DELETE = """
mutation WebhookDelete($id: String!) {
  webhookDelete(id: $id) { success entityId }
}
"""

OPERATIONS: dict[str, str] = {
    "Viewer": VIEWER,
    "IssueCreate": ISSUE_CREATE,
    "IssueUpdate": ISSUE_UPDATE,
    "IssueTeam": ISSUE_TEAM,
    "WorkflowStates": WORKFLOW_STATES,
    "CommentCreate": COMMENT_CREATE,
    "SearchIssues": SEARCH_ISSUES,
    "ExportIssues": EXPORT_ISSUES,
    "IssueComments": ISSUE_COMMENTS,
    "WebhookCreate": WEBHOOK_CREATE,
    "WebhookDelete": WEBHOOK_DELETE,
}
