/* reader: form detection and dispatch. Text forms must be valid UTF-8 with no
 * NUL; a document that is not is read as a binary protobuf Report, and if that
 * fails too the error says so plainly rather than guessing. */
#include "read/reader.h"

#include <stdlib.h>
#include <string.h>

#include "read/fit.h"
#include "read/flatread.h"
#include "read/htmlread.h"
#include "read/layoutread.h"
#include "read/pdfread.h"
#include "read/rawdoc.h"
#include "read/reportpb.h"
#include "read/textread.h"
#include "base/util.h"
#include "read/yamlreport.h"

static const char *const NAMES[] = {"detect", "text", "layout", "yaml", "pb", "pdf", "html", "flat"};

const char *reader_form_name(enum reader_form f)
{
    return (unsigned)f < sizeof NAMES / sizeof NAMES[0] ? NAMES[f] : "?";
}

int reader_form_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof NAMES / sizeof NAMES[0]); i++)
        if (!strcmp(name, NAMES[i]))
            return i;
    return -1;
}

/* Only the first 4 KiB decide text or binary (a UTF-8 sequence cut at the
 * edge is forgiven); the text readers validate the whole document. */
enum reader_form reader_detect(const uint8_t *data, size_t len)
{
    const char *s = (const char *)data;
    size_t head = len < 4096 ? len : 4096;
    while (head < len && head > 4092 && ((unsigned char)s[head] & 0xc0) == 0x80)
        head--;
    if (pdfread_sniff(data, len))
        return READER_PDF;
    if (htmlread_sniff(s, len))
        return READER_HTML;
    if (!util_utf8_valid(s, head))
        return READER_PROTOBUF;
    if (yamlreport_sniff(s, len))
        return READER_YAML;
    if (flatread_sniff(s, len))
        return READER_FLAT;
    if (textread_sniff(s, len))
        return READER_TEXT;
    return READER_LAYOUT;
}

static int read_raw(const struct layouts *ls, const char *text, size_t len, enum reader_form form,
                    const char *filename, unsigned year_hint, struct report **out, char *err, size_t errlen)
{
    struct rawdoc d;
    int rc = form == READER_TEXT   ? textread_parse(text, len, filename, ls, &d, err, errlen)
             : form == READER_HTML ? htmlread_parse(text, len, filename, ls, &d, err, errlen)
                                   : layoutread_parse(text, len, filename, ls, &d, err, errlen);
    if (rc == 0)
        rc = fit_report(ls, &d, year_hint, out, err, errlen);
    rawdoc_free(&d);
    return rc;
}

/* A PDF: its text through the isolated extractor, then the layout reader. */
static int read_pdf(const struct layouts *ls, const uint8_t *data, size_t len, const char *fn,
                    unsigned year_hint, struct report **out, char *err, size_t errlen)
{
    char why[512], *text;
    size_t tlen;
    if (pdfread_text(data, len, NULL, &text, &tlen, why, sizeof why) < 0)
        return errf(err, errlen, "%s: %s", fn, why);
    int rc = read_raw(ls, text, tlen, READER_LAYOUT, fn, year_hint, out, err, errlen);
    free(text);
    return rc;
}

int reader_read(const struct layouts *ls, const uint8_t *data, size_t len, enum reader_form form,
                const char *filename, unsigned year_hint, struct report **out, char *err, size_t errlen)
{
    const char *fn = filename ? filename : "<document>";
    if (len == 0)
        return errf(err, errlen, "%s: empty document", fn);
    if (form == READER_DETECT)
        form = reader_detect(data, len);
    if (form == READER_YAML && !util_utf8_valid((const char *)data, len))
        return errf(err, errlen, "%s: not valid UTF-8 text (or contains a NUL byte)", fn);
    int rc;
    switch (form) {
    case READER_TEXT:
    case READER_LAYOUT:
    case READER_HTML:
        rc = read_raw(ls, (const char *)data, len, form, fn, year_hint, out, err, errlen);
        break;
    case READER_PDF:
        rc = read_pdf(ls, data, len, fn, year_hint, out, err, errlen);
        break;
    case READER_FLAT:
        rc = flatread_read(ls, (const char *)data, len, fn, year_hint, out, NULL, err, errlen);
        break;
    case READER_YAML:
        rc = yamlreport_read(ls, (const char *)data, len, fn, out, err, errlen);
        break;
    case READER_PROTOBUF: {
        char why[512];
        if ((rc = reportpb_read(ls, data, len, out, why, sizeof why)) < 0)
            return errf(err, errlen, "%s: neither UTF-8 text nor a readable protobuf Report: %s", fn, why);
        break;
    }
    default:
        return errf(err, errlen, "%s: unknown document form %d", fn, (int)form);
    }
    if (rc == 0)
        (*out)->reader = reader_form_name(form);
    return rc;
}
