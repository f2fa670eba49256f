/*
 * The fault injector's rules: a file compiled into a list, each rule with
 * its counters (tests/fault/README.md gives the format and the semantics).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "constants.h"
#include "p11fault-rules.h"

typedef struct {
    GPatternSpec *token; /* over the label, trailing spaces trimmed */
    GPatternSpec *fn;    /* over the function name */
    CK_RV rv;
    gboolean has_rv;
    guint64 after;   /* matching calls that pass before the rule fires */
    guint64 count;   /* times it fires; ignored when always */
    gboolean always; /* fires on every matching call after `after` */
    guint delay_ms;
    guint64 matched; /* matching calls so far */
    guint64 fired;   /* times fired so far */
} Rule;

struct P11faultRules {
    GPtrArray *rules; /* Rule, file order */
};

static void
rule_free(gpointer data)
{
    Rule *rule = data;

    if (rule->token != NULL) {
        g_pattern_spec_free(rule->token);
    }
    if (rule->fn != NULL) {
        g_pattern_spec_free(rule->fn);
    }
    g_free(rule);
}

static gboolean
parse_number(const char *text, guint64 max, guint64 *out, GError **error)
{
    return g_ascii_string_to_unsigned(text, 10, 0, max, out, error);
}

/* One key=value word of a rule into rule; FALSE with error when refused. */
static gboolean
parse_word(Rule *rule, const char *word, GError **error)
{
    const char *eq = strchr(word, '=');
    g_autofree char *key = NULL;
    const char *value;
    guint64 number = 0;

    if (eq == NULL) {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "'%s' is not key=value", word);
        return FALSE;
    }
    key = g_strndup(word, eq - word);
    value = eq + 1;
    if (strcmp(key, "token") == 0 && rule->token == NULL) {
        rule->token = g_pattern_spec_new(value);
    } else if (strcmp(key, "fn") == 0 && rule->fn == NULL) {
        rule->fn = g_pattern_spec_new(value);
    } else if (strcmp(key, "rv") == 0 && !rule->has_rv) {
        if (!p11mux_constant_parse(P11MUX_CONST_CKR, value, &rule->rv)) {
            g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "unknown return value '%s'", value);
            return FALSE;
        }
        rule->has_rv = TRUE;
    } else if (strcmp(key, "after") == 0) {
        return parse_number(value, G_MAXUINT64, &rule->after, error);
    } else if (strcmp(key, "count") == 0 && strcmp(value, "always") == 0) {
        rule->always = TRUE;
    } else if (strcmp(key, "count") == 0) {
        return parse_number(value, G_MAXUINT64, &rule->count, error);
    } else if (strcmp(key, "delay") == 0) {
        if (!parse_number(value, G_MAXUINT / 1000, &number, error)) {
            return FALSE;
        }
        rule->delay_ms = (guint)number;
    } else {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "unknown or repeated key '%s'", key);
        return FALSE;
    }
    return TRUE;
}

/* transfer full: the rule of one line; NULL with error when refused. */
static Rule *
parse_rule(char **words, GError **error)
{
    Rule *rule = g_new0(Rule, 1);
    guint i;

    rule->count = 1;
    for (i = 0; words[i] != NULL; i++) {
        if (!parse_word(rule, words[i], error)) {
            rule_free(rule);
            return NULL;
        }
    }
    if (rule->token == NULL || rule->fn == NULL || !rule->has_rv) {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "a rule needs token=, fn= and rv=");
        rule_free(rule);
        return NULL;
    }
    return rule;
}

/* One line: a rule appended to rules, nothing for a blank or comment line,
 * a message on stderr for anything else. */
static void
add_line(P11faultRules *rules, const char *path, guint number, const char *line)
{
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) words = NULL;
    Rule *rule;

    if (!g_shell_parse_argv(line, NULL, &words, &error)) {
        if (g_error_matches(error, G_SHELL_ERROR, G_SHELL_ERROR_EMPTY_STRING)) {
            return;
        }
    } else {
        rule = parse_rule(words, &error);
        if (rule != NULL) {
            g_ptr_array_add(rules->rules, rule);
            return;
        }
    }
    fprintf(stderr, "p11fault: %s:%u: %s; rule ignored\n", path, number, error->message);
}

P11faultRules *
p11fault_rules_load(const char *path)
{
    P11faultRules *rules = g_new0(P11faultRules, 1);
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    guint i;

    rules->rules = g_ptr_array_new_with_free_func(rule_free);
    if (!g_file_get_contents(path, &text, NULL, &error)) {
        if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            fprintf(stderr, "p11fault: %s: %s\n", path, error->message);
        }
        return rules;
    }
    lines = g_strsplit(text, "\n", -1);
    for (i = 0; lines[i] != NULL; i++) {
        add_line(rules, path, i + 1, lines[i]);
    }
    return rules;
}

void
p11fault_rules_free(P11faultRules *rules)
{
    if (rules == NULL) {
        return;
    }
    g_ptr_array_unref(rules->rules);
    g_free(rules);
}

guint
p11fault_rules_count(const P11faultRules *rules)
{
    return rules->rules->len;
}

P11faultVerdict
p11fault_rules_decide(P11faultRules *rules, const char *label, const char *function)
{
    P11faultVerdict verdict = {CKR_OK, 0};
    guint i;

    for (i = 0; i < rules->rules->len; i++) {
        Rule *rule = g_ptr_array_index(rules->rules, i);

        if (!g_pattern_spec_match_string(rule->token, label) ||
            !g_pattern_spec_match_string(rule->fn, function)) {
            continue;
        }
        rule->matched++;
        if (rule->matched <= rule->after || (!rule->always && rule->fired >= rule->count)) {
            continue;
        }
        rule->fired++;
        verdict.rv = rule->rv;
        verdict.delay_ms = rule->delay_ms;
        break;
    }
    return verdict;
}
