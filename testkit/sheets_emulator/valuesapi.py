"""The spreadsheets.values.* methods (get, update, append, clear and their batch forms)."""
from . import a1, limits, values
from .errors import bad_request, field_violation
from .store import number_format

RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
INPUT_OPTIONS = ("RAW", "USER_ENTERED")


def _render_one(ss, sheet, r, c, how, dt_option):
    v = ss.render_cell(sheet, r, c, how)
    if dt_option == "FORMATTED_STRING" and isinstance(v, (int, float)) and not isinstance(v, bool):
        fmt = number_format(sheet.cell(r, c) or {})
        if fmt and fmt.get("type") in ("DATE", "TIME", "DATE_TIME"):
            return ss.render_cell(sheet, r, c, "FORMATTED_VALUE")
    return v


def _trim(rows):
    """Google drops trailing empty cells in each row and trailing empty rows."""
    out = []
    for row in rows:
        while row and row[-1] is None:
            row.pop()
        out.append(["" if v is None else v for v in row])
    while out and not out[-1]:
        out.pop()
    return out


def value_range(ss, sheet, r0, c0, r1, c1, params):
    how = params.get("valueRenderOption") or "FORMATTED_VALUE"
    if how not in RENDER_OPTIONS:
        raise bad_request(f"Invalid value at 'value_render_option' (type.googleapis.com/"
                          f"google.apps.sheets.v4.ValueRenderOption), \"{how}\"")
    major = params.get("majorDimension") or "ROWS"
    dt_option = params.get("dateTimeRenderOption") or "SERIAL_NUMBER"
    grid = [[_render_one(ss, sheet, r, c, how, dt_option) for c in range(c0, c1)]
            for r in range(r0, r1)]
    if major == "COLUMNS":
        grid = [list(col) for col in zip(*grid)] if grid else []
    body = {"range": a1.format_range(sheet.title, r0, c0, r1, c1), "majorDimension": major}
    trimmed = _trim(grid)
    if trimmed:
        body["values"] = trimmed
    return body


def get(ss, range_text, params):
    sheet, r0, c0, r1, c1, _ = ss.resolve(range_text)
    return value_range(ss, sheet, r0, c0, r1, c1, params)


def check_values(vals, field="data.values"):
    """Reproduce Google's proto validation errors for a malformed `values` field."""
    if vals is None:
        return []
    if not isinstance(vals, list):
        raise field_violation(field, f"Invalid value at '{field}' "
                                     "(type.googleapis.com/google.protobuf.ListValue), "
                                     f"{_js(vals)}")
    for i, row in enumerate(vals):
        if not isinstance(row, list):
            f = f"{field}[{i}]"
            raise field_violation(f, f"Invalid value at '{f}' "
                                     f"(type.googleapis.com/google.protobuf.ListValue), {_js(row)}")
    return vals


def _js(v):
    import json
    return json.dumps(v, ensure_ascii=False)


def _orient(vals, major):
    if major == "COLUMNS":
        width = max((len(c) for c in vals), default=0)
        return [[col[i] if i < len(col) else None for col in vals] for i in range(width)]
    return vals


def write_cells(sheet, r0, c0, rows, input_option):
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is None:
                continue  # null means "leave this cell alone"
            _write_cell(sheet.cell(r0 + i, c0 + j, create=True), v, input_option)
            sheet.drop_if_empty(r0 + i, c0 + j)


def _write_cell(cell, v, input_option):
    if isinstance(v, (dict, list)):
        raise bad_request(f"Invalid values[0][0]: {_js(v)}")
    limits.check_text(v)
    if input_option == "RAW":
        val, fmt = values.raw_value(v), None
    else:
        val, fmt = values.user_entered_value(v, number_format(cell))
    _check_validation(cell, val)
    if val:
        cell["userEnteredValue"] = val
    else:
        cell.pop("userEnteredValue", None)
    if fmt and not number_format(cell):
        cell.setdefault("userEnteredFormat", {})["numberFormat"] = dict(fmt)


def _check_validation(cell, val):
    """DataValidationRule.strict (the Sheets v4 reference): "True if invalid data should be
    rejected." Enforced for the dropdown kind (ONE_OF_LIST), the one people put on a column."""
    rule = cell.get("dataValidation") or {}
    condition = rule.get("condition") or {}
    if not rule.get("strict") or condition.get("type") != "ONE_OF_LIST" or not val:
        return
    allowed = [str(v.get("userEnteredValue", "")) for v in condition.get("values") or []]
    if str(next(iter(val.values()))) not in allowed:
        raise bad_request("The data you entered violates the data validation rules set on "
                          "this cell.")


def _input_option(option):
    if option not in INPUT_OPTIONS:
        if not option:
            raise bad_request("'valueInputOption' is required but not specified")
        raise bad_request(f"Invalid value at 'value_input_option' (type.googleapis.com/"
                          f"google.apps.sheets.v4.ValueInputOption), \"{option}\"")
    return option


def update(ss, range_text, body, params, field="data.values"):
    """PUT values/{range}: returns an UpdateValuesResponse."""
    option = _input_option(params.get("valueInputOption"))
    if (body.get("range") and body["range"] != range_text
            and _norm(ss, body["range"]) != _norm(ss, range_text)):
        raise bad_request(f"Requested writing within range [{range_text}], but tried writing to "
                          f"[{body['range']}]")
    rows = _orient(check_values(body.get("values"), field), body.get("majorDimension") or "ROWS")
    sheet, r0, c0, r1, c1, single = ss.resolve(range_text, clip=False)
    return _write_block(ss, sheet, r0, c0, r1, c1, single, rows, option, params, range_text)


def _norm(ss, text):
    return ss.resolve(text, clip=False)[:5]


def _write_block(ss, sheet, r0, c0, r1, c1, single, rows, option, params, range_text):
    nrows = len(rows)
    ncols = max((len(r) for r in rows), default=0)
    if not single:
        if nrows > r1 - r0:
            raise bad_request(f"Requested writing within range [{range_text}], but tried writing "
                              f"to row [{r0 + (r1 - r0) + 1}]")
        if ncols > c1 - c0:
            raise bad_request(f"Requested writing within range [{range_text}], but tried writing "
                              f"to column [{a1.index_to_col(c1)}]")
    if r0 + nrows > sheet.row_count or c0 + ncols > sheet.col_count or r0 >= sheet.row_count \
            or c0 >= sheet.col_count:
        raise bad_request(f"Range ({range_text}) exceeds grid limits. Max rows: "
                          f"{sheet.row_count}, max columns: {sheet.col_count}")
    write_cells(sheet, r0, c0, rows, option)
    ss.touch()
    resp = {"spreadsheetId": ss.id}
    h, w = max(nrows, 1), max(ncols, 1)
    resp["updatedRange"] = a1.format_range(sheet.title, r0, c0, r0 + h, c0 + w)
    cells = sum(sum(1 for v in row if v is not None) for row in rows)
    if cells:
        resp.update(updatedRows=nrows, updatedColumns=ncols, updatedCells=cells)
    if _truthy(params.get("includeValuesInResponse")):
        resp["updatedData"] = value_range(ss, sheet, r0, c0, r0 + h, c0 + w, {
            "valueRenderOption": params.get("responseValueRenderOption"),
            "dateTimeRenderOption": params.get("responseDateTimeRenderOption")})
    return resp


def _truthy(v):
    return v is True or str(v).lower() == "true"


def batch_update(ss, body, by_filter=False, resolve_filter=None):
    option = _input_option(body.get("valueInputOption"))
    params = {"valueInputOption": option, **{k: body.get(k) for k in (
        "includeValuesInResponse", "responseValueRenderOption", "responseDateTimeRenderOption")}}
    responses, rows_seen, cols_seen, sheets_seen, total_cells = [], set(), set(), set(), 0
    for i, item in enumerate(body.get("data") or []):
        field = f"data[{i}].values"
        if by_filter:
            # One response per range updated ("responses: The response for each range
            # updated", BatchUpdateValuesByDataFilterResponse): a filter matching two rows
            # reports both; one matching nothing reports none.
            updated = _update_by_filter(ss, item, params, field, resolve_filter)
        else:
            updated = [update(ss, item.get("range", ""), item, params, field)]
        for resp in updated:
            responses.append(resp)
            if resp.get("updatedCells"):
                sheet, r0, c0, r1, c1, _ = ss.resolve(resp["updatedRange"])
                rows_seen.update((sheet.id, r) for r in range(r0, r1))
                cols_seen.update((sheet.id, c) for c in range(c0, c1))
                sheets_seen.add(sheet.id)
                total_cells += resp["updatedCells"]
    out = {"spreadsheetId": ss.id}
    if total_cells:
        out.update(totalUpdatedRows=len(rows_seen), totalUpdatedColumns=len(cols_seen),
                   totalUpdatedCells=total_cells, totalUpdatedSheets=len(sheets_seen))
    if responses:
        out["responses"] = responses
    return out


def _update_by_filter(ss, item, params, field, resolve_filter):
    """Google: "If more than one range is matched by the specified DataFilter the specified
    values are applied to all of those ranges"; a filter that matches nothing has no response."""
    data_filter = item.get("dataFilter") or {}
    targets = resolve_filter(ss, data_filter)
    rows = _orient(check_values(item.get("values"), field), item.get("majorDimension") or "ROWS")
    responses = []
    for sheet, r0, c0, r1, c1 in targets:
        text = a1.format_range(sheet.title, r0, c0, r1, c1)
        resp = _write_block(ss, sheet, r0, c0, r1, c1, False, rows, params["valueInputOption"],
                            params, text)
        responses.append(dict(resp, dataFilter=data_filter))
    return responses


def batch_get(ss, ranges, params):
    return {"spreadsheetId": ss.id, "valueRanges": [get(ss, r, params) for r in ranges]}


def clear(ss, range_text):
    sheet, r0, c0, r1, c1, _ = ss.resolve(range_text)
    for r in range(r0, r1):
        for c in range(c0, c1):
            cell = sheet.cell(r, c)
            if cell:
                cell.pop("userEnteredValue", None)
                sheet.drop_if_empty(r, c)
    ss.touch()
    return a1.format_range(sheet.title, r0, c0, r1, c1)


def _row_empty(sheet, r, c0, c1):
    row = sheet.rows[r]
    return not any(row.get(c, {}).get("userEnteredValue") for c in range(c0, c1))


def append(ss, range_text, body, params):
    """values.append: find the table in the range, write below it (OVERWRITE or INSERT_ROWS)."""
    option = _input_option(params.get("valueInputOption"))
    rows = _orient(check_values(body.get("values")), body.get("majorDimension") or "ROWS")
    sheet, r0, c0, r1, c1, single = ss.resolve(range_text, clip=False)
    r1, c1 = min(r1, sheet.row_count), min(c1, sheet.col_count)
    scan_cols = (0, sheet.col_count) if single else (c0, c1)
    first = next((r for r in range(r0, r1) if not _row_empty(sheet, r, *scan_cols)), None)
    resp = {"spreadsheetId": ss.id}
    if first is None:
        target, col = r0, c0
    else:
        last = first
        while last + 1 < sheet.row_count and not _row_empty(sheet, last + 1, *scan_cols):
            last += 1
        used = [c for r in range(first, last + 1) for c, cell in sheet.rows[r].items()
                if cell.get("userEnteredValue") and scan_cols[0] <= c < scan_cols[1]]
        col, end_col = min(used), max(used) + 1
        resp["tableRange"] = a1.format_range(sheet.title, first, col, last + 1, end_col)
        target = last + 1
    n = len(rows)
    if params.get("insertDataOption") == "INSERT_ROWS":
        from . import dimensions
        dimensions.insert(ss, sheet, "ROWS", target, target + n)
    elif target + n > sheet.row_count:
        sheet.set_size(rows=target + n)  # append grows the grid, unlike update
    ncols = max((len(r) for r in rows), default=0)
    if col + ncols > sheet.col_count:
        sheet.set_size(cols=col + ncols)
    text = a1.format_range(sheet.title, target, col, target + max(n, 1), col + max(ncols, 1))
    resp["updates"] = _write_block(ss, sheet, target, col, target + n, col + ncols, False, rows,
                                   option, params, text)
    return resp
