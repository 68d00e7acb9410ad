//! The UI's own words in every language, and locale-aware formatting of
//! values. Labels of entities, fields and pick-list values come from the
//! metadata; everything else a user reads comes from here.

use crate::model::values::{self, parse_datetime};
use crate::model::zone::Zone;
use crate::model::Labels;

pub use crate::engine::Locale;

impl Locale {
    /// Parses a tag (`zh`, `zh-CN`, `zh-Hans`, `en-GB` ...).
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let t = tag.trim().to_ascii_lowercase();
        if t.starts_with("zh") {
            Some(Locale::ZhCn)
        } else if t.starts_with("en") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// The first supported language of an `Accept-Language` header, by quality.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut ranked: Vec<(f32, Locale)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let locale = Locale::from_tag(it.next()?)?;
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1.0);
                Some((q, locale))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map(|(_, l)| *l)
    }

    /// The text of `labels` in this language.
    pub fn pick(self, labels: &Labels) -> String {
        match self {
            Locale::En => labels.en.clone(),
            Locale::ZhCn => labels.zh_cn.clone(),
        }
    }

    /// A UI text by key; the key itself when unknown (a test checks none is).
    pub fn text(self, key: &str) -> &'static str {
        MESSAGES
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, en, zh)| if self == Locale::En { *en } else { *zh })
            .unwrap_or("??")
    }
}

/// Every UI text: key, English, Simplified Chinese.
pub const MESSAGES: &[(&str, &str, &str)] = &[
    ("app_name", "Relata", "Relata"),
    ("home", "Home", "首页"),
    ("welcome", "Welcome", "欢迎"),
    ("home_intro", "Pick a list to start.", "请选择一个列表开始工作。"),
    ("new", "New", "新建"),
    ("new_record", "New {entity}", "新建{entity}"),
    ("edit", "Edit", "编辑"),
    ("save", "Save", "保存"),
    ("cancel", "Cancel", "取消"),
    ("delete", "Delete", "删除"),
    ("restore", "Restore", "恢复"),
    ("search", "Search", "搜索"),
    ("quick_search", "Search this list", "在此列表中搜索"),
    ("filter", "Filter", "筛选"),
    ("apply", "Apply", "应用"),
    ("clear", "Clear", "清除"),
    ("columns", "Columns", "列"),
    ("first_page", "First page", "第一页"),
    ("next_page", "Next page", "下一页"),
    ("no_records", "No records.", "没有记录。"),
    ("recycle_bin", "Recycle bin", "回收站"),
    ("back_to_list", "Back to the list", "返回列表"),
    ("deleted_at", "Deleted", "删除时间"),
    (
        "deleted_notice",
        "The record was moved to the recycle bin.",
        "记录已移至回收站。",
    ),
    ("restored_notice", "The record was restored.", "记录已恢复。"),
    ("saved_notice", "Saved.", "已保存。"),
    ("bulk_delete", "Delete selected", "删除所选"),
    ("select_all", "Select all", "全选"),
    ("yes", "Yes", "是"),
    ("no", "No", "否"),
    ("related", "Related", "相关记录"),
    ("upload_file", "Upload", "上传"),
    ("replace_file", "Replace", "替换"),
    ("remove_file", "Remove", "移除"),
    ("no_files", "No files yet.", "暂无文件。"),
    ("files_count", "({n} files)", "（{n} 个文件）"),
    ("max_size", "Up to", "最大"),
    ("any_file", "any file", "任意文件"),
    (
        "file_too_large",
        "The file is too large: the limit is {limit}.",
        "文件太大：上限为 {limit}。",
    ),
    (
        "file_type_refused",
        "This type of file is not accepted here; accepted: {types}.",
        "此处不接受该类型的文件；可接受：{types}。",
    ),
    ("file_not_saved", "The file could not be saved.", "文件未能保存。"),
    ("more", "More", "更多"),
    ("sign_out", "Sign out", "退出登录"),
    ("language", "Language", "语言"),
    ("preferences", "Preferences", "偏好设置"),
    ("time_zone", "Time zone", "时区"),
    ("follow_browser", "As my browser", "跟随浏览器"),
    (
        "time_zone_help",
        "Times are shown on this clock, and times you type are read on it.",
        "时间按此时区显示，输入的时间也按此时区理解。",
    ),
    (
        "fix_errors",
        "Please correct the highlighted fields.",
        "请更正标出的字段。",
    ),
    (
        "conflict_title",
        "Someone else changed this record while you were editing it.",
        "在您编辑期间，其他人修改了这条记录。",
    ),
    (
        "conflict_body",
        "Their values are shown next to yours. Check them, then save again to keep your version.",
        "对方的值显示在您的值旁边。请核对后再次保存以保留您的版本。",
    ),
    ("their_value", "Now saved", "当前已保存的值"),
    (
        "not_found",
        "This record does not exist or was deleted.",
        "该记录不存在或已被删除。",
    ),
    ("page_not_found", "There is no such page.", "没有这个页面。"),
    ("created", "Created", "创建时间"),
    ("updated", "Last modified", "最后修改"),
    ("actions", "Actions", "操作"),
    ("lookup_placeholder", "Type to search…", "输入以搜索…"),
    ("none", "—", "—"),
    ("total", "{n} records", "共 {n} 条记录"),
    ("total_capped", "More than {n} records", "超过 {n} 条记录"),
    ("utc", "UTC", "UTC"),
    ("error_title", "Something went wrong", "出错了"),
    (
        "busy",
        "The system is busy and nothing was changed. Please try again in a moment.",
        "系统繁忙，未做任何更改。请稍后重试。",
    ),
    ("search_everything", "Search everything", "全局搜索"),
    ("search_results", "Search results", "搜索结果"),
    ("search_for", "Results for “{q}”", "“{q}”的搜索结果"),
    ("search_none", "Nothing found for “{q}”.", "没有找到与“{q}”相关的记录。"),
    (
        "search_hint",
        "Type a name, an e-mail address, a city… Part of a word is enough.",
        "输入名称、电子邮件、城市等，输入部分文字即可。",
    ),
    ("administration", "Administration", "系统管理"),
    ("picklists", "Pick lists", "选项列表"),
    ("picklists_intro", "Add, rename, reorder and deactivate the values users pick from. A deactivated value stays readable on old records.", "添加、重命名、排序和停用用户可选的值。已停用的值在旧记录上仍然可见。"),
    ("picklist_name", "Name", "名称"),
    ("picklist_values", "Values", "值"),
    ("code", "Code", "代码"),
    ("label_en", "English label", "英文名称"),
    ("label_zh", "Chinese label", "中文名称"),
    ("status", "Status", "状态"),
    ("active", "Active", "启用"),
    ("inactive_value", "inactive", "已停用"),
    ("add_value", "Add a value", "添加值"),
    ("add", "Add", "添加"),
    ("rename", "Rename", "重命名"),
    ("move_up", "Move up", "上移"),
    ("move_down", "Move down", "下移"),
    ("deactivate", "Deactivate", "停用"),
    ("reactivate", "Reactivate", "重新启用"),
    ("code_hint", "Lower-case letters, digits and _; it cannot be changed later.", "小写字母、数字和下划线；创建后不可更改。"),
    ("forbidden", "Only administrators may open this page.", "只有管理员可以打开此页面。"),
    (
        "bad_list_request",
        "The list cannot be shown with these filters or this sort: a value or an operator is not valid. Clear them to see the whole list.",
        "无法按这些筛选或排序条件显示列表：某个值或运算符无效。清除条件即可查看完整列表。",
    ),
    ("command_refused", "“{command}” was not done:", "“{command}”未执行："),
    ("err_required", "This is required.", "此项为必填项。"),
    ("err_code", "Use lower-case letters, digits and _, starting with a letter.", "请使用小写字母、数字和下划线，并以字母开头。"),
    ("err_duplicate", "The list already has this code.", "列表中已有此代码。"),
    ("err_max_length", "The text is too long.", "文本太长。"),
];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `2026-11-23` as `23 Nov 2026` or `2026年11月23日`.
pub fn format_date(locale: Locale, iso: &str) -> String {
    let mut parts = iso.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return iso.to_owned();
    };
    let (Ok(mi), Ok(di)) = (m.parse::<usize>(), d.parse::<u32>()) else {
        return iso.to_owned();
    };
    match locale {
        Locale::En => format!("{di} {} {y}", MONTHS.get(mi.wrapping_sub(1)).unwrap_or(&"")),
        Locale::ZhCn => format!("{y}年{mi}月{di}日"),
    }
}

/// An RFC 3339 instant as date and minutes on the clocks of `zone`, with
/// the zone's abbreviation: `3 Nov 2026 16:05 CST`.
pub fn format_datetime(locale: Locale, zone: &Zone, iso: &str) -> String {
    let Some(at) = parse_datetime(iso) else {
        return iso.to_owned();
    };
    let local = zone.wall_clock(at);
    format!(
        "{} {:02}:{:02} {}",
        format_date(locale, &values::format_date(local.date)),
        local.hour,
        local.minute,
        local.abbreviation
    )
}

/// An exact decimal with `decimals` digits after the point (rounded half to
/// even beyond them) and thousands grouped: `1,234,567.89`, no float noise.
pub fn format_decimal(value: rust_decimal::Decimal, decimals: usize) -> String {
    let mut v = crate::model::decimals::round(value.abs(), decimals as u32);
    v.rescale(decimals as u32);
    group_digits(&v.to_string(), value.is_sign_negative())
}

/// `text` (unsigned digits, maybe a point) with thousands grouped and a
/// minus when `negative` and not all zeros.
fn group_digits(text: &str, negative: bool) -> String {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if negative && text.chars().any(|c| c != '0' && c != '.') {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_show_their_digits() {
        use std::str::FromStr;
        let d = |t: &str| rust_decimal::Decimal::from_str(t).unwrap_or_default();
        assert_eq!(format_decimal(d("9999999999999999.99"), 2), "9,999,999,999,999,999.99");
        assert_eq!(format_decimal(d("-1234567.8"), 2), "-1,234,567.80");
        assert_eq!(format_decimal(d("0.000001"), 6), "0.000001");
        assert_eq!(format_decimal(d("-0.001"), 2), "0.00");
    }

    #[test]
    fn picks_the_language_users_prefer() {
        assert_eq!(
            Locale::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Locale::ZhCn)
        );
        assert_eq!(
            Locale::from_accept_language("fr;q=1, en-GB;q=0.5, zh;q=0.4"),
            Some(Locale::En)
        );
        assert_eq!(Locale::from_accept_language("fr"), None);
    }

    #[test]
    fn formats_for_the_locale() {
        assert_eq!(format_date(Locale::En, "2026-11-03"), "3 Nov 2026");
        assert_eq!(format_date(Locale::ZhCn, "2026-11-03"), "2026年11月3日");
        assert_eq!(
            format_datetime(Locale::En, &Zone::utc(), "2026-11-03T08:05:00.000000Z"),
            "3 Nov 2026 08:05 UTC"
        );
        let shanghai = Zone::parse("Asia/Shanghai").unwrap_or_default();
        assert_eq!(
            format_datetime(Locale::ZhCn, &shanghai, "2026-11-03T20:05:00Z"),
            "2026年11月4日 04:05 CST"
        );
        assert_eq!(format_datetime(Locale::En, &shanghai, "not a time"), "not a time");
        assert_eq!(
            format_decimal(rust_decimal::Decimal::new(12345675, 1), 2),
            "1,234,567.50"
        );
        assert_eq!(format_decimal(rust_decimal::Decimal::new(-12, 0), 0), "-12");
        assert_eq!(format_decimal(rust_decimal::Decimal::new(999999, 3), 2), "1,000.00");
    }

    #[test]
    fn every_message_has_both_languages() {
        for (key, en, zh) in MESSAGES {
            assert!(!en.is_empty() && !zh.is_empty(), "{key}");
        }
    }
}
